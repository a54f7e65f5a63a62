import { ApiError, enc, get, post, shownRows } from "./api";
import { h, replace } from "./dom";
import { time } from "./format";
import type { Page, Session } from "./main";
import { Attempt, DeadLetter, ListPage, Subscription } from "./types";

/** Webhook subscriptions, each one's recent deliveries, and the dead letters with replay. */
export function webhooksPage(root: HTMLElement, session: Session): Page {
  const list = h("section", { "aria-label": "Subscriptions" });
  const deadLetters = h("section", { "aria-label": "Dead letters" });
  const created = h("div", { "aria-live": "polite" });
  const url = h("input", { id: "webhook-url", type: "url", required: true, placeholder: "https://…", autocomplete: "off" });
  const description = h("input", { id: "webhook-description", type: "text", maxlength: 200 });
  const form = h("form", { class: "inline-form", "aria-label": "New subscription" },
    h("label", { for: "webhook-url" }, "Receiver URL"), url,
    h("label", { for: "webhook-description" }, "Description"), description,
    h("button", { type: "submit" }, "Subscribe"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const subscription = await post<Subscription>("/webhooks", { url: url.value.trim(), description: description.value.trim() || null });
      url.value = "";
      description.value = "";
      replace(created, h("div", { class: "once", role: "alert" },
        h("p", {}, "Subscription created. Its signing secret is shown this once: keep it with the receiver."),
        h("code", { class: "secret" }, subscription?.secret ?? "")));
      await draw(true);
    } catch (e) {
      session.notify(e instanceof ApiError && e.field ? `${e.field}: ${e.message}` : String((e as Error).message ?? e), "error");
    }
  });
  const open = new Set<string>();
  replace(root, h("h1", {}, "Webhooks"), form, created, list, h("h2", {}, "Dead letters"), deadLetters);

  async function draw(force: boolean): Promise<void> {
    const [subscriptions, dead] = await Promise.all([
      get<Subscription[] | { subscriptions: Subscription[] }>("/webhooks"),
      get<ListPage<DeadLetter>>(`/webhooks/dead-letters?limit=${shownRows}`),
    ]);
    if (force || subscriptions.changed || list.childElementCount === 0) {
      const items = Array.isArray(subscriptions.body) ? subscriptions.body : subscriptions.body.subscriptions;
      replace(list, items.length === 0 ? h("p", { class: "empty" }, "No subscriptions.")
        : h("ul", { class: "subscriptions" }, ...items.map(subscriptionItem)));
    }
    if (force || dead.changed || deadLetters.childElementCount === 0) {
      const items = dead.body.items;
      replace(deadLetters, items.length === 0 ? h("p", { class: "empty" }, "No dead letters: every delivery got through or is still being tried.")
        : h("ul", { class: "dead-letters" }, ...items.map(deadLetterItem)));
    }
  }

  function subscriptionItem(s: Subscription): HTMLElement {
    const deliveries = h("div", { class: "deliveries" });
    const toggle = h("button", { type: "button", class: "link", "aria-expanded": String(open.has(s.id)) }, "Deliveries");
    const show = async (): Promise<void> => {
      const page = await get<{ attempts: Attempt[]; disabledReason: string | null }>(`/webhooks/${enc(s.id)}/deliveries`);
      replace(deliveries, page.body.disabledReason ? h("p", { class: "error" }, `Disabled: ${page.body.disabledReason}`) : null,
        page.body.attempts.length === 0 ? h("p", { class: "empty" }, "No deliveries yet.")
          : h("table", {}, h("thead", {}, h("tr", {}, ...["When", "Event", "Attempt", "Outcome", "Status", "Latency"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, ...page.body.attempts.map((a) => h("tr", {},
              h("td", {}, time(a.attemptedAt)), h("td", {}, a.eventId), h("td", {}, String(a.attempt)),
              h("td", {}, h("span", { class: a.outcome === "delivered" || a.outcome === "success" ? "state state-low" : "state state-high" }, a.outcome)),
              h("td", {}, a.statusCode === null ? a.error ?? "–" : String(a.statusCode)), h("td", {}, `${a.latencyMs} ms`))))));
    };
    toggle.addEventListener("click", () => {
      if (open.has(s.id)) {
        open.delete(s.id);
        deliveries.replaceChildren();
      } else {
        open.add(s.id);
        void show();
      }
      toggle.setAttribute("aria-expanded", String(open.has(s.id)));
    });
    if (open.has(s.id)) {
      void show();
    }
    return h("li", { "data-subscription": s.id },
      h("strong", {}, s.url), " ", h("span", { class: s.enabled ? "badge" : "badge firing" }, s.enabled ? "enabled" : "disabled"),
      s.description ? h("p", { class: "muted" }, s.description) : null,
      h("p", { class: "muted" }, `Severities: ${s.filters.severities.join(", ") || "all"} · events: ${s.filters.eventTypes.join(", ") || "all"} · since ${time(s.createdAt)}`),
      toggle, deliveries);
  }

  function deadLetterItem(d: DeadLetter): HTMLElement {
    const replay = h("button", { type: "button", disabled: d.replayedAt !== null }, d.replayedAt ? "Replayed" : "Replay");
    replay.addEventListener("click", async () => {
      replay.disabled = true;
      try {
        await post(`/webhooks/dead-letters/${enc(d.id)}/replay`);
        session.notify("Queued for delivery again.");
        await draw(true);
      } catch (e) {
        replay.disabled = false;
        session.notify((e as Error).message, "error");
      }
    });
    return h("li", {}, `${time(d.deadLetteredAt)} · event ${d.eventId} · ${d.attempts} attempts · `, h("span", { class: "error" }, d.lastError), " ", replay);
  }

  return { title: "Webhooks", refresh: () => draw(false) };
}
