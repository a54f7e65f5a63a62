import { ApiError, del, enc, get, post, shownRows } from "./api";
import { h, replace } from "./dom";
import { time } from "./format";
import type { Page, Session } from "./main";
import { ApiKey, ListPage } from "./types";

/** The tenant roles a new key can have, least privilege first. */
const tenantRoles = ["viewer", "operator", "admin"];

/** The tenant's API keys: create (the key is shown once), list with prefix and role, revoke. */
export function keysPage(root: HTMLElement, session: Session): Page {
  const tenant = session.tenant;
  if (!tenant) {
    replace(root, h("h1", {}, "API keys"), h("p", {}, "Sign in with a tenant key to manage that tenant's keys."));
    return { title: "API keys", refresh: async () => {} };
  }
  const path = `/tenants/${enc(tenant.id)}/api-keys`;
  const list = h("section", { "aria-label": "API keys" });
  const created = h("div", { "aria-live": "polite" });
  const name = h("input", { id: "key-name", type: "text", required: true, maxlength: 100, autocomplete: "off" });
  const role = h("select", { id: "key-role" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "inline-form", "aria-label": "New API key" },
    h("label", { for: "key-name" }, "Name (who uses it)"), name,
    h("label", { for: "key-role" }, "Role"), role,
    h("button", { type: "submit" }, "Create key"), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const key = (await post<{ id: string; key: string; role: string }>(path, { name: name.value.trim(), role: role.value }))!;
      name.value = "";
      replace(created, h("div", { class: "once", role: "alert" },
        h("p", {}, `Key created (${key.role}). It is shown this once: store it now.`), h("code", { class: "secret" }, key.key)));
      await draw(true);
    } catch (e) {
      error.textContent = e instanceof ApiError && e.field ? `${e.field}: ${e.message}` : (e as Error).message;
    }
  });
  replace(root, h("h1", {}, "API keys"), form, created, list);

  async function draw(force: boolean): Promise<void> {
    const { body: page, changed } = await get<ListPage<ApiKey>>(`${path}?limit=${shownRows}`);
    if (!changed && !force && list.childElementCount > 0) {
      return;
    }
    const body = page.items;
    if (role.options.length === 0) {
      replace(role, ...tenantRoles.map((r) => h("option", { value: r }, r)));
    }
    replace(list, h("table", {}, h("caption", {}, `Keys of ${tenant!.name}`),
      h("thead", {}, h("tr", {}, ...["Name", "Prefix", "Role", "Created", "Last used", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, ...body.map((k) => h("tr", { class: k.revokedAt ? "revoked" : "" },
        h("th", { scope: "row" }, k.name), h("td", {}, h("code", {}, k.prefix)),
        h("td", {}, k.role),
        h("td", {}, time(k.createdAt)), h("td", {}, k.lastUsedAt ? time(k.lastUsedAt) : "–"),
        h("td", {}, k.revokedAt ? `revoked ${time(k.revokedAt)}` : revokeButton(k)))))));
  }

  function revokeButton(k: ApiKey): HTMLElement {
    const b = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${k.name}` }, "Revoke");
    b.addEventListener("click", async () => {
      if (!confirm(`Revoke the key "${k.name}" (${k.prefix})? Whoever uses it loses access at once.`)) {
        return;
      }
      try {
        await del(`${path}/${enc(k.id)}`);
        session.notify(`Key ${k.prefix} revoked.`);
        await draw(true);
      } catch (e) {
        session.notify((e as Error).message, "error");
      }
    });
    return b;
  }

  return { title: "API keys", refresh: () => draw(false) };
}
