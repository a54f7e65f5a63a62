import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ApiError, Tenant, forgetKey, signIn, signInWithToken, storedKey, useTokens, whenUnauthorized, get } from "./api";
import { EntraSettings, EntraSignIn, SignedInUser, hasEntraState, isSignInResponse, loadEntraSettings, relaySignInResponse } from "./entra";
import { h, replace } from "./dom";
import { fleetPage } from "./fleet";
import { machinePage } from "./machine";
import { alertsPage } from "./alerts";
import { webhooksPage } from "./webhooks";
import { devicesPage } from "./devices";
import { keysPage } from "./keys";

/** A screen: refresh() runs at once and then every few seconds while the screen is shown. */
export interface Page {
  title: string;
  refresh(): Promise<void>;
  dispose?(): void;
}

export interface Session {
  tenant: Tenant | null;
  /** Shows a message in the screen's banner (an error stays until the next successful refresh). */
  notify(message: string, kind?: "error" | "info"): void;
}

/** Live updates: the brief of the screen is "at a glance", so nothing on it is older than this. */
const refreshMilliseconds = 3000;

const app = document.getElementById("app")!;
let current: Page | null = null;
let timer: number | undefined;
let session: Session | null = null;
/** Set where the deployment configures Entra ID sign-in for the dashboard (sign-in.json). */
let entraSettings: EntraSettings | null = null;
/** Made when first needed, so a tab signed in with a key holds nothing of Entra's. */
let entra: EntraSignIn | null = null;

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const routes: [RegExp, (root: HTMLElement, session: Session, match: RegExpMatchArray) => Page][] = [
  [/^#\/fleet$/, (root, s) => fleetPage(root, s)],
  [/^#\/machines\/(.+)$/, (root, s, m) => machinePage(root, s, decodeURIComponent(m[1]))],
  [/^#\/alerts$/, (root, s) => alertsPage(root, s)],
  [/^#\/webhooks$/, (root, s) => webhooksPage(root, s)],
  [/^#\/devices$/, (root, s) => devicesPage(root, s)],
  [/^#\/keys$/, (root, s) => keysPage(root, s)],
];

const nav: [string, string][] = [
  ["#/fleet", "Fleet"],
  ["#/alerts", "Alerts"],
  ["#/webhooks", "Webhooks"],
  ["#/devices", "Devices"],
  ["#/keys", "API keys"],
];

function showSignIn(message?: string): void {
  stop();
  session = null;
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, spellcheck: "false", placeholder: "pdm_…", "aria-describedby": "sign-in-help" });
  const error = h("p", { class: "error", role: "alert", id: "sign-in-error" }, message ?? "");
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "PDM dashboard"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { class: "hint", id: "sign-in-help" }, "The key is kept for this browser tab only (session storage) and sent with every request."),
    button,
    error);
  if (entraSettings) {
    const settings = entraSettings;
    const microsoft = h("button", { type: "button", class: "microsoft" }, "Sign in with Microsoft");
    microsoft.addEventListener("click", async () => {
      microsoft.disabled = true;
      error.textContent = "";
      try {
        entra ??= await EntraSignIn.create(settings);
        if (await entra.signIn()) {
          await startWithEntra();
        }
      } catch (e) {
        error.textContent = `Microsoft sign-in failed: ${messageOf(e)}`;
        microsoft.disabled = false;
      }
    });
    form.insertBefore(h("div", { class: "or" }, h("span", {}, "or"), microsoft), error);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      const tenants = await signIn(input.value.trim());
      start(tenants);
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
      button.disabled = false;
      input.focus();
    }
  });
  replace(app, h("main", { class: "centre" }, form));
  input.focus();
}

/**
 * Signed in with Entra ID: API calls carry its access tokens. The API decides what the token may do; a directory not
 * linked to a tenant, or a user without a PDM role, is refused here with the API's reason.
 */
async function startWithEntra(): Promise<void> {
  const signedIn = entra!;
  try {
    const tenants = await signInWithToken(await signedIn.token());
    useTokens(() => signedIn.token());
    start(tenants, await signedIn.user());
  } catch (e) {
    forgetKey();
    await signedIn.forget();
    showSignIn(`Microsoft sign-in refused: ${messageOf(e)}`);
  }
}

function start(tenants: Tenant[], user?: SignedInUser): void {
  const banner = h("div", { class: "banner", role: "status", "aria-live": "polite" });
  const updated = h("span", { class: "updated", "aria-live": "off" });
  const links = nav.map(([href, label]) => h("a", { href }, label));
  const signOut = h("button", { type: "button", class: "link" }, "Sign out");
  signOut.addEventListener("click", () => {
    forgetKey();
    location.hash = "";
    if (user && entra) {
      // Away to the identity provider and back to the sign-in screen.
      stop();
      void entra.signOut();
      return;
    }
    showSignIn();
  });
  const tenant = tenants.length === 1 ? tenants[0] : null;
  const main = h("main", { id: "content", tabindex: "-1" });
  replace(app,
    h("header", { class: "top" },
      h("a", { class: "brand", href: "#/fleet" }, "PDM"),
      h("nav", { "aria-label": "Screens" }, ...links),
      h("span", { class: "tenant" }, tenant ? tenant.name : "platform admin"),
      ...(user ? [h("span", { class: "user", title: "Signed in with Microsoft" }, `${user.name} · ${user.role}`)] : []),
      updated,
      signOut),
    banner,
    main);
  session = {
    tenant,
    notify(message, kind = "info") {
      banner.textContent = message;
      banner.className = `banner ${message ? kind : ""}`;
      banner.setAttribute("role", kind === "error" ? "alert" : "status");
    },
  };
  const route = (): void => {
    stop();
    const hash = location.hash || "#/fleet";
    for (const link of links) {
      link.toggleAttribute("aria-current", hash.startsWith(link.getAttribute("href")!));
    }
    const found = routes.find(([pattern]) => pattern.test(hash));
    if (!found) {
      location.hash = "#/fleet";
      return;
    }
    session!.notify("");
    const root = h("div", { class: "page" });
    replace(main, root);
    current = found[1](root, session!, hash.match(found[0])!);
    document.title = `${current.title} · PDM`;
    const tick = async (): Promise<void> => {
      const page = current;
      try {
        await page?.refresh();
        if (page === current) {
          updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
          if (banner.classList.contains("error")) {
            session!.notify("");
          }
        }
      } catch (e) {
        if (page === current && !(e instanceof ApiError && e.status === 401)) {
          session!.notify(e instanceof Error ? e.message : String(e), "error");
        }
      }
      if (page === current) {
        timer = window.setTimeout(tick, refreshMilliseconds);
      }
    };
    void tick();
  };
  window.onhashchange = route;
  route();
}

function stop(): void {
  if (timer !== undefined) {
    window.clearTimeout(timer);
    timer = undefined;
  }
  current?.dispose?.();
  current = null;
}

whenUnauthorized((message) => {
  forgetKey();
  void entra?.forget();
  showSignIn(`Signed out: ${message}`);
});

async function boot(): Promise<void> {
  if (isSignInResponse()) {
    // This window is the popup (or the redirect's landing) the identity provider answered: hand the answer over.
    await relaySignInResponse();
    return;
  }
  let entraProblem: string | undefined;
  try {
    entraSettings = await loadEntraSettings();
    // Signed in earlier in this tab, or back from the provider's redirect: msal-browser finishes and renews.
    if (entraSettings && hasEntraState()) {
      entra = await EntraSignIn.create(entraSettings);
    }
    if (entra && (await entra.resume())) {
      await startWithEntra();
      return;
    }
  } catch (e) {
    entraProblem = `Microsoft sign-in is unavailable: ${messageOf(e)}`;
  }
  if (!storedKey()) {
    showSignIn(entraProblem);
    return;
  }
  try {
    start((await get<Tenant[]>("/tenants")).body);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      showSignIn(e instanceof Error ? e.message : String(e));
    }
  }
}

void boot();
