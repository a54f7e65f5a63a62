import { enc, get, post } from "./api";
import { h, replace } from "./dom";
import { severities, stateClass, time } from "./format";
import type { Page, Session } from "./main";
import { Alert, AlertEvent } from "./types";

const statuses = ["open", "acknowledged", "resolved"] as const;

/** Acknowledge / resolve / comment buttons for one alert; `after` runs once the server took the action. */
export function alertActions(alertId: string, status: string, session: Session, after: () => Promise<void> | void): HTMLElement {
  const comment = h("input", { type: "text", maxlength: 2000, placeholder: "Comment (optional)", "aria-label": "Comment" });
  const act = async (action: "acknowledge" | "resolve" | "comments", button: HTMLButtonElement): Promise<void> => {
    const text = comment.value.trim();
    if (action === "comments" && !text) {
      session.notify("Write a comment first.", "error");
      comment.focus();
      return;
    }
    button.disabled = true;
    try {
      await post(`/alerts/${enc(alertId)}/${action}`, { comment: text || null });
      comment.value = "";
      session.notify(action === "comments" ? "Comment added." : `Alert ${action === "acknowledge" ? "acknowledged" : "resolved"}.`);
      await after();
    } catch (e) {
      session.notify(e instanceof Error ? e.message : String(e), "error");
    } finally {
      button.disabled = false;
    }
  };
  const button = (label: string, action: "acknowledge" | "resolve" | "comments", enabled: boolean): HTMLButtonElement => {
    const b = h("button", { type: "button", disabled: !enabled }, label);
    b.addEventListener("click", () => void act(action, b));
    return b;
  };
  return h("div", { class: "actions", role: "group", "aria-label": "Alert actions" },
    comment,
    button("Acknowledge", "acknowledge", status === "open"),
    button("Resolve", "resolve", status !== "resolved"),
    button("Comment", "comments", true));
}

/** The alerts inbox: open and acknowledged first (latest activity first), filters by status and severity. */
export function alertsPage(root: HTMLElement, session: Session): Page {
  const chosen = new Set<string>(["open", "acknowledged"]);
  const chosenSeverities = new Set<string>(severities);
  const list = h("section", { "aria-label": "Alerts" });
  const checkbox = (group: Set<string>, value: string, label: string): HTMLElement => {
    const input = h("input", { type: "checkbox", checked: group.has(value) });
    input.addEventListener("change", () => {
      if (input.checked) {
        group.add(value);
      } else {
        group.delete(value);
      }
      void draw(true);
    });
    return h("label", { class: "check" }, input, ` ${label}`);
  };
  replace(root, h("h1", {}, "Alerts"),
    h("div", { class: "filters" },
      h("fieldset", {}, h("legend", {}, "Status"), ...statuses.map((s) => checkbox(chosen, s, s))),
      h("fieldset", {}, h("legend", {}, "Severity"), ...severities.map((s) => checkbox(chosenSeverities, s, s)))),
    list);
  const expanded = new Set<string>();

  async function draw(force: boolean): Promise<void> {
    if (chosen.size === 0 || chosenSeverities.size === 0) {
      replace(list, h("p", { class: "empty" }, "Choose at least one status and one severity."));
      return;
    }
    const { body, changed } = await get<{ alerts: Alert[]; next: string | null }>(
      `/alerts?status=${[...chosen].join(",")}&severity=${[...chosenSeverities].join(",")}&limit=200`);
    if (!changed && !force && list.childElementCount > 0) {
      return;
    }
    if (body.alerts.length === 0) {
      replace(list, h("p", { class: "empty" }, "No alerts match."));
      return;
    }
    replace(list, h("ul", { class: "inbox" }, ...body.alerts.map((a) => alertItem(a))),
      body.next ? h("p", { class: "muted" }, "Showing the latest 200; narrow the filters to see older ones.") : null);
  }

  function alertItem(a: Alert): HTMLElement {
    const events = h("div", { class: "events" });
    const toggle = h("button", { type: "button", class: "link", "aria-expanded": String(expanded.has(a.id)) }, "History");
    const showEvents = async (): Promise<void> => {
      const detail = await get<{ alert: Alert; events: AlertEvent[] }>(`/alerts/${enc(a.id)}`);
      replace(events, h("ol", {}, ...detail.body.events.map((e) => h("li", {},
        `${time(e.at)} · ${e.type}${e.by ? ` by ${e.by}` : ""}`, e.comment ? h("q", {}, e.comment) : null))));
    };
    toggle.addEventListener("click", () => {
      if (expanded.has(a.id)) {
        expanded.delete(a.id);
        events.replaceChildren();
      } else {
        expanded.add(a.id);
        void showEvents();
      }
      toggle.setAttribute("aria-expanded", String(expanded.has(a.id)));
    });
    if (expanded.has(a.id)) {
      void showEvents();
    }
    const subject = a.subject === "device" || a.subject === "Device"
      ? `device ${a.subjectId}`
      : h("a", { href: `#/machines/${enc(a.subjectId)}` }, a.subjectId);
    return h("li", { class: `alert status-${a.status}`, "data-alert": a.id },
      h("div", { class: "alert-head" },
        h("span", { class: stateClass(a.severity) }, a.severity), " ",
        h("strong", {}, a.explanation?.summary ?? a.ruleId), " ",
        h("span", { class: "badge" }, a.status), a.firing ? h("span", { class: "badge firing" }, "firing") : null),
      h("p", { class: "muted" }, subject, ` · rule ${a.ruleId} · opened ${time(a.openedAt)} · last seen ${time(a.lastSeenAt)} · ${a.count}×`,
        a.acknowledged ? ` · acknowledged by ${a.acknowledged.by}` : "", a.resolved ? ` · resolved by ${a.resolved.by}` : ""),
      alertActions(a.id, a.status, session, () => draw(true)),
      toggle, events);
  }

  return { title: "Alerts", refresh: () => draw(false) };
}
