// 12345 热线管理台: small enhancements only; every page works without this script.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// Copying from a masked message: each hidden part becomes its synthetic stand-in
// (13800005678, not 138****5678), usable as an example or an entity's words. Where the
// reviewer chose to see personal data, nothing is masked and the real text is copied.
document.addEventListener("copy", (event) => {
  const selection = document.getSelection();
  if (!selection || selection.rangeCount === 0 || !event.clipboardData) return;
  const fragment = selection.getRangeAt(0).cloneContents();
  const hidden = fragment.querySelectorAll("[data-copy]");
  const start = selection.getRangeAt(0).startContainer.parentElement;
  const inside = start ? start.closest("[data-copy]") : null;
  if (hidden.length === 0 && !inside) return;
  if (inside && hidden.length === 0) {
    event.clipboardData.setData("text/plain", inside.dataset.copy);
  } else {
    for (const part of hidden) part.textContent = part.dataset.copy;
    const holder = document.createElement("div");
    holder.appendChild(fragment);
    event.clipboardData.setData("text/plain", holder.textContent);
  }
  event.preventDefault();
});
