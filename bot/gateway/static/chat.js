(() => {
  "use strict";
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const statusLine = document.getElementById("connection-status");
  const STORAGE_KEY = "hotline12345.conversation_id";
  const CONNECTED = "已连接，请输入您的问题";
  let socket = null;
  let retryMs = 1000;
  let ready = false; // the history has arrived: what is sent now follows it on the page
  let awaiting = 0; // turns sent whose reply has not arrived: the typing indicator shows
  const pending = []; // {text, shown} typed while the connection was down

  const HANDOFF_STATUS = {
    waiting: "正在为您转接人工客服，请稍候…",
    with_agent: "人工客服正在为您服务",
  };
  // Web addresses, and the emergency and hotline numbers when they stand alone (not part
  // of a phone or order number, not a quantity such as "120平方米").
  const LINKS = /(https?:\/\/[^\s，。；、！？）)」》"']+)|(?<![\d.])(110|119|120|122|12345)(?![\d.%年月日号元米平天个分秒岁次条])/g;

  const typing = document.createElement("li");
  typing.className = "typing";
  typing.setAttribute("role", "status");
  typing.setAttribute("aria-label", "智能助手正在输入");
  for (let i = 0; i < 3; i++) typing.appendChild(document.createElement("span"));

  /** Text with links as DOM nodes: never innerHTML, a message may contain markup. In an
   *  emergency reply only the emergency numbers are offered: 12345 is named there as the
   *  number *not* to wait on. */
  function linked(text, emergency) {
    const out = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(LINKS)) {
      if (emergency && match[2] === "12345") continue;
      out.appendChild(document.createTextNode(text.slice(last, match.index)));
      const a = document.createElement("a");
      if (match[1]) {
        a.href = match[1];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
      } else {
        a.href = "tel:" + match[2];
        a.className = "tel";
      }
      a.textContent = match[0];
      out.appendChild(a);
      last = match.index + match[0].length;
    }
    out.appendChild(document.createTextNode(text.slice(last)));
    return out;
  }

  /** Buttons belong to the step that offered them: once the citizen has answered, or an
   *  agent has taken over, pressing one would answer a question no longer asked. */
  function closeEarlierSteps() {
    for (const button of log.querySelectorAll(".buttons button")) button.disabled = true;
  }

  function addMessage(role, text, options) {
    const opts = options || {};
    const item = document.createElement("li");
    item.className = "msg " + role + (opts.emergency ? " emergency" : "");
    item.dataset.text = text; // what a flag quotes, without the controls' labels
    if (opts.emergency) item.setAttribute("role", "alert");
    if (opts.label) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = opts.label;
      item.appendChild(who);
    }
    item.appendChild(role === "me" ? document.createTextNode(text) : linked(text, opts.emergency));
    if (opts.buttons && opts.buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "可选操作");
      for (const b of opts.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", () => sendText(b.payload, b.title));
        group.appendChild(button);
      }
      item.appendChild(group);
    }
    log.insertBefore(item, typing.isConnected ? typing : null);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function smallButton(title, className) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = title;
    return button;
  }

  /** The citizen's question and the bot's whole answer (Rasa may split it into several
   *  bubbles) as the page shows them, for the reviewers. */
  function flagQuote(item) {
    const answer = [item.dataset.text];
    let question = "";
    for (let node = item.previousElementSibling; node; node = node.previousElementSibling) {
      if (node.classList.contains("me")) { question = node.dataset.text; break; }
      if (!node.classList.contains("bot")) break;
      answer.unshift(node.dataset.text);
    }
    return { question: question || "（问题不在当前页面中）", answer: answer.join("\n") };
  }

  /** Under an answer from the knowledge base: "答案有误/已过时？" opens an optional comment
   *  and the two reasons; one press of a reason sends the flag to the reviewers' queue. */
  function offerFlag(item, entryId) {
    if (!item || item.querySelector(".flag")) return;
    const box = document.createElement("div");
    box.className = "flag";
    const open = smallButton("答案有误/已过时？", "flag-open");
    open.setAttribute("aria-expanded", "false");
    const form = document.createElement("div");
    form.className = "flag-form";
    form.hidden = true;
    const label = document.createElement("label");
    label.textContent = "补充说明（选填）";
    const comment = document.createElement("textarea");
    comment.className = "flag-comment";
    comment.rows = 2;
    comment.maxLength = 500;
    comment.placeholder = "例如：办理地点已经变了";
    label.appendChild(comment);
    const choices = document.createElement("div");
    choices.className = "flag-actions";
    const result = document.createElement("p");
    result.className = "flag-result";
    result.setAttribute("role", "status");
    for (const [reason, title] of [["wrong", "答案有误"], ["outdated", "信息已过时"]]) {
      const send = smallButton(title, "flag-send");
      send.addEventListener("click", () => sendFlag(item, entryId, reason, comment.value, box, result));
      choices.appendChild(send);
    }
    const cancel = smallButton("取消", "flag-cancel");
    cancel.addEventListener("click", () => {
      form.hidden = true;
      open.setAttribute("aria-expanded", "false");
      open.focus();
    });
    choices.appendChild(cancel);
    form.append(label, choices, result);
    open.addEventListener("click", () => {
      form.hidden = !form.hidden;
      open.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) comment.focus();
    });
    box.append(open, form);
    item.appendChild(box);
  }

  async function sendFlag(item, entryId, reason, comment, box, result) {
    const buttons = box.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    const quote = flagQuote(item);
    const body = {
      reason,
      question: quote.question.slice(0, 2000),
      answer: quote.answer.slice(0, 2000),
      comment: comment.trim().slice(0, 500),
      entry_id: entryId,
      conversation_id: (localStorage.getItem(STORAGE_KEY) || "").slice(0, 128),
    };
    try {
      const response = await fetch("/api/v1/knowledge/flags", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        const done = document.createElement("p");
        done.className = "flag-done";
        done.setAttribute("role", "status");
        done.textContent = "感谢反馈，我们会尽快核实。";
        box.replaceChildren(done);
        return;
      }
      const data = await response.json().catch(() => ({}));
      result.textContent = data.message || "反馈没有提交成功，请稍后再试。";
    } catch (e) {
      result.textContent = "网络连接出现问题，反馈没有提交成功，请稍后再试。";
    }
    for (const b of buttons) b.disabled = false;
  }

  /** An emergency reply is emphasised, whether the gateway answered it (status) or Rasa's
   *  emergency action did (a {"emergency": true} custom message in the same reply). */
  function addBotMessages(messages, status) {
    const emergency = status === "emergency" || messages.some((m) => m.custom && m.custom.emergency);
    let last = null;
    for (const m of messages) {
      if (m.text || (m.buttons && m.buttons.length)) {
        last = addMessage("bot", m.text || "", { buttons: m.buttons, emergency });
      }
      // Live, the mark follows the answer as a message of its own; in the history it is
      // already on the answer.
      const mark = (m.custom && m.custom.knowledge) || m.knowledge;
      if (mark && mark.entry_id && last && !emergency) offerFlag(last, mark.entry_id);
    }
  }

  function addAgentMessage(text, agent) {
    closeEarlierSteps();
    addMessage("agent", text, { label: `人工客服 ${agent || ""}`.trim() });
  }

  function setTyping(count) {
    awaiting = Math.max(count, 0);
    if (awaiting > 0 && !typing.isConnected) {
      log.appendChild(typing);
      typing.scrollIntoView({ block: "end" });
    } else if (awaiting === 0 && typing.isConnected) {
      typing.remove();
    }
  }

  function setStatus(text) { statusLine.textContent = text; }

  function setHandoffState(state) { setStatus(HANDOFF_STATUS[state] || CONNECTED); }

  function welcome() {
    const item = document.createElement("li");
    item.className = "welcome";
    item.textContent = "12345政务服务便民热线智能助手可以为您解答政策和标准问题、受理诉求、查询工单进度。请直接输入您要咨询或反映的问题。";
    return item;
  }

  /** The page is redrawn from the server's record on every (re)connection, so a reload
   *  or a dropped connection shows exactly what was said, agent messages included. */
  function showHistory(data) {
    log.replaceChildren(welcome());
    for (const m of data.messages || []) {
      if (m.role === "citizen") {
        closeEarlierSteps();
        addMessage("me", m.text);
      } else if (m.role === "bot") {
        addBotMessages([m], m.status);
      } else if (m.role === "agent") {
        addAgentMessage(m.text, m.agent);
      } else if (m.role === "system") {
        closeEarlierSteps();
        addMessage("system", m.text);
      }
    }
    for (const message of pending) addMessage("me", message.shown);
    if (data.state !== "bot") closeEarlierSteps();
    setHandoffState(data.state);
  }

  function connect() {
    const id = localStorage.getItem(STORAGE_KEY) || "";
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws?conversation_id=${encodeURIComponent(id)}`);
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "session") {
        localStorage.setItem(STORAGE_KEY, data.conversation_id);
      } else if (data.type === "history") {
        showHistory(data);
        retryMs = 1000;
        ready = true;
        while (pending.length) transmit(pending.shift().text);
      } else if (data.type === "bot") {
        if (data.status !== "workorder") setTyping(awaiting - 1);
        addBotMessages(data.messages, data.status);
      } else if (data.type === "agent") {
        for (const m of data.messages) addAgentMessage(m.text || "", data.agent);
      } else if (data.type === "handoff") {
        if (data.text) {
          closeEarlierSteps();
          addMessage("system", data.text);
        }
        setHandoffState(data.state);
      } else if (data.type === "error") {
        setTyping(awaiting - 1);
        addMessage("error", data.message);
      }
    });
    socket.addEventListener("close", () => {
      ready = false;
      setTyping(0);
      setStatus("连接已断开，正在重新连接…");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    });
  }

  function transmit(text) {
    socket.send(JSON.stringify({ type: "message", text }));
    setTyping(awaiting + 1);
  }

  function sendText(text, shown) {
    closeEarlierSteps();
    addMessage("me", shown || text);
    if (ready && socket.readyState === WebSocket.OPEN) transmit(text);
    else pending.push({ text, shown: shown || text });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { input.focus(); return; }
    sendText(text);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  log.appendChild(welcome());
  connect();
})();
