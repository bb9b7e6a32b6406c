// Runs puter_magic/notebook/popup.js (the sign-in button's page side) in Node with a stand-in for
// the browser: a window that records what window.open was asked and delivers message events, a
// tiny DOM, and an anywidget model that records what it sent to the kernel. Reads a script of steps
// (JSON, argv[3]) and prints what happened (JSON), for tests/notebook/test_popup_js.py.
import { readFileSync } from "node:fs";

const [modulePath, scriptPath] = process.argv.slice(2);
const steps = JSON.parse(readFileSync(scriptPath, "utf8"));

class Node_ {
  constructor(tag) {
    this.tag = tag;
    this.children = [];
    this.style = {};
    this.listeners = {};
    this.textContent = "";
    this.classList = { add: () => {} };
    this.removed = false;
  }
  set className(v) { this.cls = v; }
  append(...nodes) { this.children.push(...nodes); }
  remove() { this.removed = true; }
  addEventListener(kind, fn) { (this.listeners[kind] ||= []).push(fn); }
  click() { for (const fn of this.listeners.click || []) fn(); }
}
globalThis.document = { createElement: (tag) => new Node_(tag) };

const listeners = [];
const opened = [];
const popups = [];
let blockPopups = false;
function makePopup() {
  const popup = { closed: false, received: [], postMessage(data, target) { this.received.push({ data, target }); } };
  popups.push(popup);
  return popup;
}
globalThis.window = {
  location: { protocol: steps.protocol || "http:" },
  screen: { width: 1600, height: 1000 },
  addEventListener: (kind, fn) => { if (kind === "message") listeners.push(fn); },
  removeEventListener: (kind, fn) => { const i = listeners.indexOf(fn); if (i >= 0) listeners.splice(i, 1); },
  open: (...args) => {
    opened.push(args);
    return blockPopups ? null : makePopup();
  },
};

const sent = [];
const handlers = {};
const state = { gui_origin: steps.gui, guest: steps.guest !== false, state: "ready", message: "", tone: "note" };
const model = {
  get: (k) => state[k],
  send: (content) => sent.push(content),
  on: (event, fn) => { (handlers[event] ||= []).push(fn); },
  off: () => {},
};

const widget = (await import(modulePath)).default;
const el = new Node_("div");
widget.render({ model, el });
const row = el.children[0];
const button = row.children.find((n) => n.tag === "button");
const line = row.children.find((n) => n.tag === "span");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function deliver(message) {
  const source = message.source === "other-window" ? { postMessage() {} } : popups[popups.length - 1] || null;
  const data = typeof message.data === "object" && message.data && "msg_id" in message.data && message.data.msg_id === "$msg_id"
    ? { ...message.data, msg_id: currentMsgId() } : message.data;
  for (const fn of [...listeners]) fn({ origin: message.origin, source, data });
}
function currentMsgId() {
  if (!opened.length) return "1";  // before any click: puter.js's first msg_id
  return new URL(opened[opened.length - 1][0]).searchParams.get("msg_id");
}

for (const step of steps.steps) {
  if (step.do === "click") button.click();
  else if (step.do === "block") blockPopups = true;
  else if (step.do === "message") deliver(step);
  else if (step.do === "close") popups[popups.length - 1].closed = true;
  else if (step.do === "wait") await sleep(step.ms);
  else if (step.do === "kernel") {  // the kernel changes the synced state
    Object.assign(state, step.set);
    for (const key of Object.keys(step.set)) for (const fn of handlers[`change:${key}`] || []) fn();
  }
}
console.log(JSON.stringify({
  opened,
  sent,
  line: line.textContent,
  rowHtml: row.innerHTML ?? null,
  buttonShown: !button.removed,
  listeners: listeners.length,
  replies: popups.map((p) => p.received),
}));
process.exit(0);
