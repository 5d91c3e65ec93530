(() => {
  "use strict";
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("send-button");
  const statusLine = document.getElementById("connection-status");
  const STORAGE_KEY = "hotline12345.conversation_id";
  let socket = null;
  let retryMs = 1000;
  const pending = [];

  const HANDOFF_STATUS = {
    waiting: "正在为您转接人工客服，请稍候…",
    with_agent: "人工客服正在为您服务",
  };

  function addMessage(role, text, buttons, label) {
    const item = document.createElement("li");
    item.className = "msg " + role;
    if (label) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = label;
      item.appendChild(who);
    }
    item.appendChild(document.createTextNode(text));
    if (buttons && buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "可选操作");
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", () => sendText(b.payload, b.title));
        group.appendChild(button);
      }
      item.appendChild(group);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function setStatus(text) { statusLine.textContent = text; }

  function connect() {
    const id = localStorage.getItem(STORAGE_KEY) || "";
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws?conversation_id=${encodeURIComponent(id)}`);
    socket.addEventListener("open", () => {
      retryMs = 1000;
      setStatus("已连接，请输入您的问题");
      send.disabled = false;
      while (pending.length) socket.send(pending.shift());
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "session") {
        localStorage.setItem(STORAGE_KEY, data.conversation_id);
      } else if (data.type === "bot") {
        for (const m of data.messages) addMessage("bot", m.text || "", m.buttons);
      } else if (data.type === "agent") {
        // A human agent's words (bot/handoff): labelled, so the citizen knows who answers.
        for (const m of data.messages) addMessage("agent", m.text || "", null, `人工客服 ${data.agent || ""}`);
      } else if (data.type === "handoff") {
        if (data.text) addMessage("system", data.text);
        setStatus(HANDOFF_STATUS[data.state] || "已连接，请输入您的问题");
      } else if (data.type === "error") {
        addMessage("error", data.message);
      }
    });
    socket.addEventListener("close", () => {
      setStatus("连接已断开，正在重新连接…");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    });
  }

  function sendText(text, shown) {
    const frame = JSON.stringify({ type: "message", text });
    addMessage("me", shown || text);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(frame);
    else pending.push(frame);
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
  addMessage("bot", "您好！我是12345政务服务便民热线智能助手，可以为您解答政策和标准问题、受理诉求、查询工单。请问有什么可以帮您？");
  connect();
})();
