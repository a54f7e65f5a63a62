import { ApiError, get, post, shownRows } from "./api";
import { h, replace } from "./dom";
import { time } from "./format";
import type { Page, Session } from "./main";
import { Device, ListPage } from "./types";

interface Registered {
  deviceId: string;
  primaryKey: string;
  endpoint: string | null;
}

/** Devices of the tenant, and registration: the connection details are shown once, right after registering. */
export function devicesPage(root: HTMLElement, session: Session): Page {
  const list = h("section", { "aria-label": "Registered devices" });
  const details = h("div", { "aria-live": "polite" });
  const deviceId = h("input", { id: "device-id", type: "text", required: true, maxlength: 128, autocomplete: "off", spellcheck: "false", placeholder: "press-07-gateway" });
  const fieldError = h("p", { class: "error", id: "device-id-error", role: "alert" });
  const form = h("form", { class: "inline-form", "aria-label": "Register a device" },
    h("label", { for: "device-id" }, "Device id"), deviceId, h("button", { type: "submit" }, "Register"), fieldError);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fieldError.textContent = "";
    try {
      const device = (await post<Registered>("/devices", { deviceId: deviceId.value.trim() }))!;
      deviceId.value = "";
      replace(details, h("div", { class: "once", role: "alert", "data-device": device.deviceId },
        h("h2", {}, `Connection details of ${device.deviceId}`),
        h("p", {}, "Shown this once: copy them to the device now. Registering the same id again issues a new key."),
        h("dl", { class: "facts" },
          h("dt", {}, "Device id"), h("dd", {}, h("code", {}, device.deviceId)),
          h("dt", {}, "Primary key"), h("dd", {}, h("code", { class: "secret" }, device.primaryKey)),
          h("dt", {}, "Endpoint"), h("dd", {}, h("code", {}, device.endpoint ?? "–"))),
        dismiss()));
      await draw(true);
    } catch (e) {
      fieldError.textContent = e instanceof ApiError && e.field ? `${e.field}: ${e.message}` : (e as Error).message;
    }
  });
  const dismiss = (): HTMLElement => {
    const b = h("button", { type: "button" }, "I have copied them");
    b.addEventListener("click", () => details.replaceChildren());
    return b;
  };
  replace(root, h("h1", {}, "Devices"), form, details, list);

  async function draw(force: boolean): Promise<void> {
    const { body: page, changed } = await get<ListPage<Device>>(`/devices?limit=${shownRows}`);
    if (!changed && !force && list.childElementCount > 0) {
      return;
    }
    const body = page.items;
    replace(list, body.length === 0 ? h("p", { class: "empty" }, "No devices registered.")
      : h("table", {}, h("caption", {}, "Registered devices"),
        h("thead", {}, h("tr", {}, ...["Device", "Registered", "State"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...body.map((d) => h("tr", { "data-device": d.deviceId },
          h("th", { scope: "row" }, d.deviceId), h("td", {}, time(d.createdAt)),
          h("td", {}, h("span", { class: d.disabled ? "state state-high" : "state state-low" }, d.disabled ? "disabled" : "enabled")))))),
      page.next ? h("p", { class: "muted" }, `The first ${shownRows} devices by id.`) : null);
  }

  void session;
  return { title: "Devices", refresh: () => draw(false) };
}
