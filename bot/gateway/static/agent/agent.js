// 坐席工作台. Every text from the server is shown with textContent (never as HTML), and
// every POST carries the session's CSRF token from <meta name="csrf-token">.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const myId = Number($("me").dataset.userId);
  const ROLE_LABELS = { citizen: "市民", bot: "智能助手", agent: "客服", system: "系统" };
  const CHANNEL_LABELS = { webchat: "网页", wechat: "微信", rest: "接口", phone: "电话" };

  let state = null;            // the last /api/v1/agent/state
  let current = null;          // the open conversation: {id, handoff, call}
  let inserted = null;         // {id, text} of the suggestion put into the reply box
  let assistTimer = null;
  let stateTimer = null;

  // ---- small helpers -------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Beijing time whatever the agent's computer is set to: the API's times carry their zone.
  const BEIJING_CLOCK = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function clock(iso) {
    return iso ? BEIJING_CLOCK.format(new Date(iso)) : "";
  }

  function minutes(seconds) {
    return seconds < 60 ? "不到1分钟" : `${Math.floor(seconds / 60)}分钟`;
  }

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    const response = await fetch(path, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (response.status === 401) { location.href = "/login?next=/agent/"; }
    if (!response.ok) throw new Error(data.message || "操作失败，请稍后再试。");
    return data;
  }

  function showError(message) {
    const box = $("conv-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function conversationPath(id) {
    return `/api/v1/agent/conversations/${encodeURIComponent(id)}`;
  }

  // ---- lists ---------------------------------------------------------------------------

  async function refreshState() {
    try {
      state = await api("GET", "/api/v1/agent/state");
    } catch (e) {
      $("live-status").textContent = e.message;
      return;
    }
    $("duty-toggle").checked = state.on_duty;
    $("duty-label").textContent = state.on_duty ? "接待中" : "未接待";
    showDutyWarning(state.duty_warning);
    renderQueue();
    renderMine();
    renderCalls();
    renderNotes();
    renderColleagues();
  }

  function showDutyWarning(text) {
    $("duty-warning").textContent = text || "";
    $("duty-warning").hidden = !text;
  }

  function scheduleState() {
    clearTimeout(stateTimer);
    stateTimer = setTimeout(refreshState, 150);
  }

  function listItem(id, title, summary, meta) {
    const item = el("li");
    item.tabIndex = 0;
    item.dataset.conversationId = id;
    if (current && current.id === id) item.classList.add("active");
    item.appendChild(el("div", "title", title));
    if (summary) item.appendChild(el("div", "summary", summary));
    if (meta) item.appendChild(el("div", "meta", meta));
    const open = () => openConversation(id);
    item.addEventListener("click", open);
    item.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
    return item;
  }

  function renderQueue() {
    const list = $("queue-list");
    list.replaceChildren();
    $("queue-count").textContent = String(state.queue.length);
    if (!state.queue.length) list.appendChild(el("li", "empty", "暂无排队的市民"));
    for (const h of state.queue) {
      list.appendChild(listItem(
        h.conversation_id,
        `第${h.position}位 · ${CHANNEL_LABELS[h.channel] || h.channel}`,
        h.summary,
        `已等待${minutes(h.waited_s)}`,
      ));
    }
  }

  function renderMine() {
    const list = $("mine-list");
    list.replaceChildren();
    if (!state.mine.length) list.appendChild(el("li", "empty", "暂无接待中的会话"));
    for (const h of state.mine) {
      list.appendChild(listItem(
        h.conversation_id, `${CHANNEL_LABELS[h.channel] || h.channel} · 接入于${clock(h.claimed_at)}`,
        h.summary, "",
      ));
    }
  }

  function renderCalls() {
    const list = $("call-list");
    list.replaceChildren();
    for (const call of state.calls) {
      list.appendChild(listItem(
        call.conversation_id, `通话 ${call.caller || "未知号码"}`, "", `开始于${clock(call.started_at)}`,
      ));
    }
  }

  // Replies being typed, by note id: the list is redrawn whenever the state refreshes,
  // and an agent's half-written reply must survive that.
  const noteDrafts = new Map();

  function renderNotes() {
    const list = $("note-list");
    list.replaceChildren();
    $("note-count").textContent = String(state.notes.length);
    if (!state.notes.length) list.appendChild(el("li", "empty", "暂无待回复的留言"));
    for (const note of state.notes) {
      const item = noteItem(note);
      const form = el("form", "note-reply");
      const input = el("input");
      input.placeholder = "回复留言";
      input.maxLength = 2000;
      input.setAttribute("aria-label", `回复留言 ${note.id}`);
      input.value = noteDrafts.get(note.id) || "";
      input.addEventListener("input", () => noteDrafts.set(note.id, input.value));
      const button = el("button", "", "回复");
      button.type = "submit";
      form.append(input, button);
      // Typing a reply must not open the conversation under the cursor.
      form.addEventListener("click", (event) => event.stopPropagation());
      form.addEventListener("keydown", (event) => event.stopPropagation());
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!input.value.trim()) return;
        button.disabled = true;
        try {
          const result = await api("POST", `/api/v1/agent/notes/${note.id}/reply`, { text: input.value });
          noteDrafts.delete(note.id);
          const fate = result.delivered ? "已发送给市民" : "已记录，市民当前不在线，暂未送达";
          $("note-result").textContent = `留言 ${note.id} 的回复${fate}：“${result.reply}”`;
          await refreshState();
          if (current && current.id === result.conversation_id) await reloadConversation();
        } catch (e) {
          $("note-result").textContent = e.message;
          button.disabled = false;
        }
      });
      item.appendChild(form);
      list.appendChild(item);
    }
    const answered = $("answered-note-list");
    answered.replaceChildren();
    if (!state.answered_notes.length) answered.appendChild(el("li", "empty", "暂无已回复的留言"));
    for (const note of state.answered_notes) {
      const item = noteItem(note);
      item.appendChild(el("div", "reply", `${note.handled_by_name}回复：${note.reply}`));
      answered.appendChild(item);
    }
  }

  // A 留言 opens its conversation, so the agent reads what led to it before replying.
  function noteItem(note) {
    const item = listItem(
      note.conversation_id,
      `留言 ${note.id} · ${CHANNEL_LABELS[note.channel] || note.channel} · ${note.status_label}`,
      note.text,
      `留言于${clock(note.created_at)}`,
    );
    item.dataset.noteId = String(note.id);
    return item;
  }

  function renderColleagues() {
    const select = $("transfer-to");
    select.replaceChildren();
    const queue = el("option", "", "退回排队");
    queue.value = "queue";
    select.appendChild(queue);
    for (const c of state.colleagues) {
      const option = el("option", "", c.name);
      option.value = String(c.id);
      select.appendChild(option);
    }
  }

  // ---- the open conversation ----------------------------------------------------------

  async function openConversation(id) {
    current = { id, handoff: null, call: null, rows: new Map() };
    inserted = null;
    $("reply-text").value = "";
    $("draft-result").textContent = "";
    $("suggestions").replaceChildren();
    $("classification").replaceChildren();
    $("draft").reset();
    for (const li of document.querySelectorAll(".items li")) {
      li.classList.toggle("active", li.dataset.conversationId === id);
    }
    await reloadConversation();
    if (mayWork()) refreshAssist();
  }

  // The conversation left this agent (handed back, closed, taken by a colleague): a header
  // that still said 人工服务中 over a refusal would be a lie, so the view closes with why.
  function leaveConversation(message) {
    current = null;
    inserted = null;
    clearTimeout(assistTimer);
    showError("");
    $("conversation").hidden = true;
    $("assist").hidden = true;
    $("placeholder").textContent = message;
    $("placeholder").hidden = false;
    for (const li of document.querySelectorAll(".items li.active")) li.classList.remove("active");
  }

  async function reloadConversation() {
    if (!current) return;
    const id = current.id;
    let data;
    try {
      data = await api("GET", conversationPath(id));
    } catch (e) {
      if (current && current.id === id) leaveConversation(e.message);
      return;
    }
    if (!current || current.id !== id) return;
    showError("");
    current.handoff = data.handoff;
    current.call = data.call;
    current.matter = data.matter;
    // A row pushed live while this request was on its way is newer than its answer: keep it.
    const newest = data.rows.reduce((top, row) => Math.max(top, row.id), 0);
    const live = [...current.rows.values()].filter((row) => row.id > newest);
    current.rows = new Map();
    $("transcript").replaceChildren();
    for (const row of [...data.rows, ...live]) appendRow(row);
    renderHeader();
    if (mayWork() && !$("suggestions").children.length) scheduleAssist();
  }

  function mayWork() {
    if (!current) return false;
    if (current.call) return !current.call.ended_at;
    const h = current.handoff;
    return Boolean(h && h.state === "with_agent" && (h.agent_id === myId || (state && state.me.supervisor)));
  }

  function renderHeader() {
    $("placeholder").hidden = true;
    $("conversation").hidden = false;
    const h = current.handoff;
    const isCall = Boolean(current.call);
    if (isCall) {
      $("conv-title").textContent = `来电 ${current.call.caller || "未知号码"}`;
      $("conv-state").textContent = current.call.ended_at ? "通话已结束" : "通话中";
      $("conv-summary").textContent = "";
    } else {
      const channel = CHANNEL_LABELS[h && h.channel] || "在线";
      $("conv-title").textContent = `${current.matter || "市民尚未说明诉求"} · ${channel}会话`;
      $("conv-state").textContent = h ? h.state_label + (h.agent_name ? ` · ${h.agent_name}` : "") : "";
      $("conv-summary").textContent = h ? h.summary : "";
    }
    const waiting = !isCall && h && h.state === "waiting";
    const working = mayWork();
    $("claim-button").hidden = !waiting;
    $("held-actions").hidden = isCall || !working;
    $("end-call-button").hidden = !isCall || !working;
    $("composer").hidden = isCall || !working;
    $("call-input").hidden = !isCall || !working;
    $("assist").hidden = !working;
  }

  function appendRow(row) {
    if (!current || row.conversation_id !== current.id || current.rows.has(row.id)) return;
    if (row.role === "bot" && !row.text) return; // a mark for the citizen's page, not words
    current.rows.set(row.id, row);
    const item = el("li", row.role);
    const data = row.data || {};
    let who = ROLE_LABELS[row.role] || row.role;
    if (row.role === "agent" && data.agent_name) who = `客服 ${data.agent_name}`;
    if (row.channel === "phone" && row.role === "citizen") who = "来电人";
    if (row.role !== "system") item.appendChild(el("div", "who", `${who} · ${clock(row.created_at)}`));
    item.appendChild(el("div", "text", row.text));
    if (data.suggestion_outcome) {
      item.appendChild(el("div", "who", data.suggestion_outcome === "used" ? "采用推荐答案" : "修改后采用推荐答案"));
    }
    $("transcript").appendChild(item);
    item.scrollIntoView({ block: "end" });
    $("partial").hidden = true;
  }

  // ---- assist --------------------------------------------------------------------------

  function scheduleAssist() {
    clearTimeout(assistTimer);
    assistTimer = setTimeout(refreshAssist, 400);
  }

  async function refreshAssist() {
    if (!mayWork()) return;
    const id = current.id;
    let view;
    try {
      view = await api("POST", `${conversationPath(id)}/assist`, {});
    } catch (e) { showError(e.message); return; }
    if (!current || current.id !== id) return;
    renderSuggestions(view);
    renderExplanation(view.explanation);
    fillDraft(view.draft);
  }

  function renderSuggestions(view) {
    const list = $("suggestions");
    list.replaceChildren();
    if (!view.suggestions.length) {
      let text = view.query ? "知识库中没有找到相关答案" : "市民描述问题后将显示推荐答案";
      if (!view.knowledge_available) text = "知识库暂时不可用，请稍后点击“刷新”。";
      list.appendChild(el("li", "empty", text));
      return;
    }
    for (const s of view.suggestions) {
      const item = el("li");
      item.dataset.suggestionId = String(s.id);
      // Without the embedding model search has no calibrated confidence: no "0%".
      if (s.score >= 0.01) item.appendChild(el("span", "score", `匹配度 ${Math.round(s.score * 100)}%`));
      item.appendChild(el("div", "text", s.text));
      const c = s.citation;
      if (c) {
        const source = [c.label || c.title, c.status, c.source].filter(Boolean).join(" · ");
        item.appendChild(el("div", "source", `出处：${source}`));
      }
      const button = el("button", "insert", "插入回复");
      button.type = "button";
      button.addEventListener("click", () => {
        $("reply-text").value = s.text;
        inserted = { id: s.id, text: s.text };
        $("reply-text").focus();
      });
      if (!current.call) item.appendChild(button);
      item.appendChild(flagButtons(view.query, s));
      list.appendChild(item);
    }
  }

  // One click flags a suggestion as wrong or outdated for the knowledge reviewers, with
  // whatever is typed in the optional comment box next to the buttons.
  function flagButtons(question, suggestion) {
    const box = el("div", "flags");
    const comment = el("input", "flag-comment");
    comment.placeholder = "补充说明（选填）";
    comment.maxLength = 500;
    box.appendChild(comment);
    for (const [reason, label] of [["wrong", "答案有误"], ["outdated", "信息过时"]]) {
      const button = el("button", "link flag", label);
      button.type = "button";
      button.addEventListener("click", async () => {
        try {
          await api("POST", "/api/v1/agent/knowledge-flags", {
            reason,
            comment: comment.value,
            question: question || "",
            answer: suggestion.text,
            entry_id: suggestion.citation ? suggestion.citation.entry_id || "" : "",
          });
          box.replaceChildren(el("span", "who", "已反馈给知识库审核人员"));
        } catch (e) { showError(e.message); }
      });
      box.appendChild(button);
    }
    return box;
  }

  // The explanation (bot/routing/explain.py) is already in plain Chinese: the page only
  // lays it out, the same way the console's macro console/explanation.html does.
  function renderExplanation(x) {
    const box = $("classification");
    box.replaceChildren();
    if (!x) {
      box.appendChild(el("p", "empty", "市民描述诉求后将显示分类和分派依据"));
      return;
    }
    if (x.unsure) box.appendChild(el("p", "unsure", x.unsure));
    const list = el("dl", "facts");
    for (const row of x.rows) list.append(el("dt", "", row.label), el("dd", "", row.text));
    box.appendChild(list);
    if (!x.cases.length) return;
    box.appendChild(el("h4", "", "相似的历史诉求"));
    const cases = el("ol", "cases");
    for (const c of x.cases) {
      const item = el("li");
      item.append(el("q", "", c.snippet), el("span", "outcome", `${c.outcome}（${c.closeness}）`));
      cases.appendChild(item);
    }
    box.appendChild(cases);
  }

  function fillDraft(draft) {
    const form = $("draft");
    for (const name of ["content", "address", "name", "phone", "request_type", "department"]) {
      const field = form.elements[name];
      // Never overwrite what the agent has already typed or corrected.
      if (field && !field.dataset.edited) field.value = draft[name] || "";
    }
    $("draft-reason").textContent = draft.reason ? `分派依据：${draft.reason}` : "";
  }

  // ---- events --------------------------------------------------------------------------

  $("duty-toggle").addEventListener("change", async (event) => {
    try {
      const result = await api("POST", "/api/v1/agent/duty", { on_duty: event.target.checked });
      showDutyWarning(result.warning);
    } catch (e) { showDutyWarning(e.message); }
    scheduleState();
  });

  $("claim-button").addEventListener("click", async () => {
    try {
      await api("POST", `${conversationPath(current.id)}/claim`, {});
      await refreshState();
      await reloadConversation();
      refreshAssist();
    } catch (e) { showError(e.message); }
  });

  $("transfer-button").addEventListener("click", async () => {
    const value = $("transfer-to").value;
    const to = value === "queue" ? "queue" : Number(value);
    try {
      await api("POST", `${conversationPath(current.id)}/transfer`, { to });
      await refreshState();
      await reloadConversation();
    } catch (e) { showError(e.message); }
  });

  $("handback-button").addEventListener("click", async () => {
    try {
      await api("POST", `${conversationPath(current.id)}/handback`, {});
      leaveConversation("会话已交还智能助手。请从左侧选择其他会话。");
      await refreshState();
    } catch (e) { showError(e.message); }
  });

  $("close-button").addEventListener("click", async () => {
    try {
      await api("POST", `${conversationPath(current.id)}/close`, { wrap_up: $("wrap-up").value });
      leaveConversation("会话已结束。请从左侧选择其他会话。");
      await refreshState();
    } catch (e) { showError(e.message); }
  });

  $("end-call-button").addEventListener("click", async () => {
    try {
      await api("POST", `/api/v1/agent/calls/${encodeURIComponent(current.call.call_id)}/end`, {});
      await refreshState();
      await reloadConversation();
    } catch (e) { showError(e.message); }
  });

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value;
    if (!text.trim()) return;
    const body = { text };
    if (inserted) body.suggestion_id = inserted.id;
    try {
      const result = await api("POST", `${conversationPath(current.id)}/messages`, body);
      $("reply-text").value = "";
      inserted = null;
      if (!result.delivered) showError("消息已记录，但未能送达市民（对方可能已离开）。");
    } catch (e) { showError(e.message); }
  });

  $("reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("composer").requestSubmit();
  });

  $("call-input").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("call-text").value;
    if (!text.trim()) return;
    try {
      await api("POST", `/api/v1/agent/calls/${encodeURIComponent(current.call.call_id)}/segments`,
        { speaker: $("call-speaker").value, text });
      $("call-text").value = "";
    } catch (e) { showError(e.message); }
  });

  $("new-call").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", "/api/v1/agent/calls", { caller: $("call-caller").value });
      $("call-caller").value = "";
      $("call-result").textContent = "";
      await refreshState();
      await openConversation(result.call.conversation_id);
    } catch (e) { $("call-result").textContent = e.message; }
  });

  $("assist-refresh").addEventListener("click", refreshAssist);

  $("draft").addEventListener("input", (event) => { event.target.dataset.edited = "1"; });
  $("draft").addEventListener("reset", () => {
    for (const field of $("draft").elements) delete field.dataset.edited;
  });
  $("draft").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = $("draft");
    const body = {};
    for (const name of ["content", "address", "name", "phone", "request_type", "department"]) {
      body[name] = form.elements[name].value;
    }
    $("draft-submit").disabled = true;
    try {
      const result = await api("POST", `${conversationPath(current.id)}/workorder`, body);
      $("draft-result").textContent = result.message;
      if (!current.call && !result.duplicate) {
        $("reply-text").value = result.message;
        inserted = null;
      }
    } catch (e) {
      $("draft-result").textContent = e.message;
    } finally {
      $("draft-submit").disabled = false;
    }
  });

  // ---- live updates --------------------------------------------------------------------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/agent/ws`);
    socket.addEventListener("open", () => {
      $("live-status").textContent = "实时连接正常";
      scheduleState();
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "row") {
        appendRow(data.row);
        if (current && data.row.conversation_id === current.id && data.row.role === "citizen") scheduleAssist();
      } else if (data.type === "partial") {
        if (current && data.conversation_id === current.id) {
          $("partial").textContent = `（识别中）${data.text}`;
          $("partial").hidden = false;
        }
      } else if (data.type === "call") {
        scheduleState();
        if (!current) openConversation(data.call.conversation_id);
      } else {
        scheduleState();
        // Someone else moved the open conversation (claimed it, transferred it to me …).
        if (data.type === "handoff" && current && data.conversation_id === current.id) {
          reloadConversation();
        }
      }
    });
    socket.addEventListener("close", () => {
      $("live-status").textContent = "实时连接已断开，正在重新连接…";
      setTimeout(connect, 2000);
    });
  }

  refreshState();
  connect();
})();
