// Sign-in with Microsoft Entra ID where the deployment configures it (the server's sign-in.json): msal-browser's
// authorization code flow with PKCE, a popup on desktops and a redirect on phones (where popups open as tabs and get
// lost), tokens cached in sessionStorage like the API key, renewed silently before they run out.
import { InteractionRequiredAuthError, NavigationClient, PublicClientApplication, type AccountInfo, type NavigationOptions } from "@azure/msal-browser";
import { broadcastResponseToMainFrame } from "@azure/msal-browser/redirect-bridge";

/** What /api/dashboard/sign-in.json says (functions/Api/DashboardSignIn.cs): nothing secret. */
export interface EntraSettings {
  clientId: string;
  authority: string;
  scopes: string[];
  protocolMode: "AAD" | "OIDC";
  knownAuthorities: string[];
}

/** Who a token says signed in: the name and the PDM app role the API maps from it (EntraAuthentication.cs). */
export interface SignedInUser {
  name: string;
  role: string;
}

/** Raised when a token cannot be had without the user: the app goes back to its sign-in screen. */
export class SignInRequired extends Error {}

// The dashboard's own address is the redirect URI registered for the app (SPA platform): https://<app>/api/dashboard/.
const redirectUri = new URL("/api/dashboard/", location.origin).href;
const appRoles = ["viewer", "operator", "admin"];

/**
 * True on the page the identity provider sent back to (a popup or a redirect): it only hands the answer to the
 * window that asked for it (msal-browser's redirect bridge) and shows nothing itself.
 */
export function isSignInResponse(): boolean {
  const fields = new URLSearchParams(location.hash.startsWith("#/") ? "" : location.hash.slice(1) || location.search);
  return fields.has("state") && (fields.has("code") || fields.has("error"));
}

/**
 * After a redirect the bridge returns to the address that started the sign-in: here the same page with another hash
 * (#/alerts), which browsers do without loading the page again. Reloading it lets the app start and finish the sign-in.
 */
class ReloadingNavigation extends NavigationClient {
  override navigateInternal(url: string, options: NavigationOptions): Promise<boolean> {
    const target = new URL(url, location.href);
    if (target.origin + target.pathname + target.search !== location.origin + location.pathname + location.search) {
      return super.navigateInternal(url, options);
    }
    location.replace(target.href);
    location.reload();
    return new Promise(() => {});
  }
}

/** Whether msal-browser keeps anything in this tab (its keys start with "msal."): a sign-in to resume or finish. */
export function hasEntraState(): boolean {
  return Object.keys(sessionStorage).some((key) => key.startsWith("msal."));
}

export function relaySignInResponse(): Promise<void> {
  return broadcastResponseToMainFrame(new ReloadingNavigation());
}

export async function loadEntraSettings(): Promise<EntraSettings | null> {
  const response = await fetch("/api/dashboard/sign-in.json", { cache: "no-store", headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`The sign-in settings could not be read (${response.status} ${response.statusText}).`);
  }
  return ((await response.json()) as { entra: EntraSettings | null }).entra;
}

export class EntraSignIn {
  private constructor(private readonly client: PublicClientApplication, private readonly scopes: string[]) {}

  static async create(settings: EntraSettings): Promise<EntraSignIn> {
    const client = new PublicClientApplication({
      auth: {
        clientId: settings.clientId,
        authority: settings.authority,
        knownAuthorities: settings.knownAuthorities,
        redirectUri,
        postLogoutRedirectUri: redirectUri,
      },
      cache: { cacheLocation: "sessionStorage" },
      system: { protocolMode: settings.protocolMode },
    });
    await client.initialize();
    return new EntraSignIn(client, settings.scopes);
  }

  /** After a redirect sign-in: takes the answer the bridge left; true when someone is signed in (now or before). */
  async resume(): Promise<boolean> {
    const result = await this.client.handleRedirectPromise();
    const account = result?.account ?? this.client.getAllAccounts()[0] ?? null;
    this.client.setActiveAccount(account);
    return account !== null;
  }

  /** Phones get a redirect (the page reloads and {@link resume} finishes); other screens a popup. */
  async signIn(): Promise<boolean> {
    const request = { scopes: this.scopes, prompt: "select_account" };
    if (window.matchMedia("(max-width: 700px), (pointer: coarse)").matches) {
      await this.client.loginRedirect(request);
      return false;
    }
    const result = await this.client.loginPopup(request);
    this.client.setActiveAccount(result.account);
    return true;
  }

  /** An access token for the API: from the cache, or renewed with the refresh token (a hidden frame as the last try). */
  async token(): Promise<string> {
    const account = this.client.getActiveAccount();
    if (!account) {
      throw new SignInRequired("Not signed in.");
    }
    try {
      return (await this.client.acquireTokenSilent({ scopes: this.scopes, account })).accessToken;
    } catch (e) {
      if (e instanceof InteractionRequiredAuthError) {
        throw new SignInRequired("Your Microsoft sign-in has expired: sign in again.");
      }
      throw e;
    }
  }

  async user(): Promise<SignedInUser> {
    return describe(await this.token(), this.client.getActiveAccount());
  }

  /** Forgets the tokens of this tab only (after a refusal), so the next sign-in starts afresh. */
  async forget(): Promise<void> {
    await this.client.clearCache();
    this.client.setActiveAccount(null);
  }

  /** Signs out at the identity provider too (a shared plant terminal must not stay signed in there). */
  async signOut(): Promise<void> {
    const account = this.client.getActiveAccount();
    await this.client.logoutRedirect({ account, postLogoutRedirectUri: redirectUri });
  }
}

/**
 * The name and role the API will see: the access token's claims, read (not verified: the API verifies them) from its
 * payload; the account's name where the token is not a readable JWT.
 */
function describe(accessToken: string, account: AccountInfo | null): SignedInUser {
  let claims: Record<string, unknown> = {};
  try {
    const payload = accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
  } catch {
    // An opaque or encrypted token: the account's name still says who.
  }
  const text = (name: string): string | undefined => (typeof claims[name] === "string" ? (claims[name] as string) : undefined);
  const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]) : [];
  const role = appRoles.filter((r) => roles.includes(r)).pop() ?? "no PDM role";
  return { name: text("preferred_username") ?? text("upn") ?? account?.username ?? text("oid") ?? "unknown", role };
}
