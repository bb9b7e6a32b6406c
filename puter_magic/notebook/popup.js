// The "Sign in with Puter" button: Puter's popup sign-in, spoken from the notebook page the
// way puter.js speaks it, with the opener's checks of ../shared/puter-signin.md §7.
//
// - The popup opens from the click itself (a user gesture), named "Puter", with puter.js's
//   features string, never noopener/noreferrer (the popup needs window.opener and the referrer).
// - Each click has a fresh, unguessable msg_id.
// - {msg:"requestOrigin"} is answered with {msg:"originResponse"} only when it comes from the
//   GUI origin and from the popup this view opened (a page whose referrer is stripped needs it).
// - {msg:"puter.token"} counts only from the exact GUI origin, from that popup, with that
//   msg_id, once; success must be true and the token a non-empty string.
// - The token goes to the kernel as a custom comm message (model.send), never into the widget's
//   state, a URL, the page or the console. The kernel checks it and answers through `state`.

const FEATURE_WIDTH = 600;
const FEATURE_HEIGHT = 700;
const CLOSED_POLL_MS = 100;
const CLOSED_GRACE_MS = 500; // the popup posts, then closes: a message may still be on its way

function freshMsgId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes); // also on plain-http pages, unlike crypto.randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function popupFeatures() {
  const top = Math.max(0, Math.round(window.screen.height / 2 - FEATURE_HEIGHT / 2));
  const left = Math.max(0, Math.round(window.screen.width / 2 - FEATURE_WIDTH / 2));
  return (
    "toolbar=no, location=no, directories=no, status=no, menubar=no, scrollbars=no, " +
    `resizable=no, copyhistory=no, width=${FEATURE_WIDTH}, height=${FEATURE_HEIGHT}, ` +
    `top=${top}, left=${left}`
  );
}

// Puter makes an app of the page's origin; it takes only http(s) pages. VS Code's notebook
// outputs (vscode-webview:) cannot open popups at all.
function popupsPossible() {
  return window.location.protocol === "http:" || window.location.protocol === "https:";
}

const STYLE = {
  row: "display:flex;align-items:center;gap:0.75em;flex-wrap:wrap;padding:2px 0;" +
    "font-family:var(--jp-ui-font-family, sans-serif);font-size:var(--jp-ui-font-size1, 13px)",
  button: "cursor:pointer;padding:6px 14px;border-radius:4px;font-weight:600;" +
    "border:1px solid var(--jp-brand-color1, #1a73e8);background:var(--jp-brand-color1, #1a73e8);" +
    "color:var(--jp-ui-inverse-font-color0, #fff);font-size:inherit",
  note: "color:var(--jp-ui-font-color1, #333)",
  warn: "color:var(--jp-warn-color0, #b45309)",
  done: "color:var(--jp-ui-font-color0, #111)",
};

function render({ model, el }) {
  const row = document.createElement("div");
  row.className = "puter-signin";
  row.style.cssText = STYLE.row;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "puter-signin-button";
  button.textContent = "Sign in with Puter";
  button.style.cssText = STYLE.button;
  const line = document.createElement("span");
  line.className = "puter-signin-status";
  row.append(button, line);
  el.append(row);

  let attempt = null; // {msgId, popup, settled, watch}

  function say(text, tone) {
    line.textContent = text;
    line.style.cssText = STYLE[tone] || STYLE.note;
  }

  function show() {
    const state = model.get("state");
    const message = model.get("message");
    if (state === "signed-in") {
      button.remove();
      row.classList.add("puter-signin-done");
      const note = model.get("note_html");
      if (note) {
        // The kernel's "Signed in…" note (views.Note: its text escaped there), the same view a
        // waiting cell puts in place of the button. Only this state takes markup from the model.
        row.style.cssText = "";
        row.innerHTML = note;
      } else {
        say(message, "done");
      }
      return;
    }
    button.disabled = state === "checking";
    say(message, model.get("tone") || "note");
  }

  function settle() {
    if (!attempt) return;
    attempt.settled = true;
    clearInterval(attempt.watch);
  }

  function cancelled(reason) {
    settle();
    say("Sign-in was cancelled; nothing changed. Click the button to try again.", "note");
    model.send({ kind: "cancelled", reason });
  }

  function onMessage(event) {
    const gui = model.get("gui_origin");
    if (!attempt || event.origin !== gui || event.source !== attempt.popup) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.msg === "requestOrigin") {
      // Our own origin is the answer (the browser attests it as event.origin); nothing else.
      event.source.postMessage({ msg: "originResponse" }, gui);
      return;
    }
    if (data.msg !== "puter.token" || attempt.settled || String(data.msg_id) !== attempt.msgId) return;
    if (data.success === true && typeof data.token === "string" && data.token.length > 0) {
      settle();
      say("Signing in…", "note");
      model.send({ kind: "token", token: data.token });
    } else {
      cancelled("refused");
    }
  }

  function click() {
    if (attempt && !attempt.settled) settle(); // a second click starts afresh: a new msg_id
    const gui = model.get("gui_origin");
    const msgId = freshMsgId();
    let url = `${gui}/action/sign-in?embedded_in_popup=true&msg_id=${msgId}`;
    if (model.get("guest")) url += "&attempt_temp_user_creation=true";
    const popup = window.open(url, "Puter", popupFeatures());
    if (!popup) {
      attempt = null;
      say(
        "The browser blocked the sign-in popup. Allow popups for this page " +
          "(the icon at the right of the address bar), then click the button again.",
        "warn"
      );
      model.send({ kind: "blocked" });
      return;
    }
    const current = { msgId, popup, settled: false, watch: 0 };
    attempt = current;
    say("Finish signing in in the Puter window…", "note");
    current.watch = setInterval(() => {
      if (current.settled || !popup.closed) return;
      clearInterval(current.watch);
      setTimeout(() => {
        if (!current.settled && attempt === current) cancelled("closed");
      }, CLOSED_GRACE_MS);
    }, CLOSED_POLL_MS);
    model.send({ kind: "opened" });
  }

  const possible = popupsPossible();
  if (possible) {
    button.addEventListener("click", click);
    window.addEventListener("message", onMessage);
  } else {
    button.remove();
    say(
      "This notebook view cannot open Puter's sign-in window: paste a token at the prompt instead " +
        `(get one at ${model.get("gui_origin")}/?action=copyauth).`,
      "note"
    );
  }
  model.on("change:state", show);
  model.on("change:message", show);
  model.on("change:note_html", show);
  if (model.get("message") || model.get("state") !== "ready") show(); // a view drawn after the fact
  model.send({ kind: "rendered", popups: possible });

  return () => {
    if (attempt) settle();
    window.removeEventListener("message", onMessage);
    model.off("change:state", show);
    model.off("change:message", show);
    model.off("change:note_html", show);
  };
}

export default { render };
