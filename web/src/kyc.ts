// Identity verification with FranceConnect, through the accounts cluster (node/routes_accounts.c,
// kyc/README.md): the node makes the provider's authorize URL (state and nonce kept in the
// replicated state); the provider sends the browser back to the site's return page
// (/identite/franceconnect, the accounts nodes' redirect_uri), which hands the code and state
// to the callback route, whichever node answers.
import { api, write } from "./api";

export const startFranceConnect = (token: string) =>
  write<{ authorize_url: string }>("/api/accounts/v1/players/me/franceconnect", {}, { token });

// `search` is the return page's query string as the provider sent it (code and state, or error).
export const finishFranceConnect = (search: string) =>
  api<{ franceconnect_logout_url?: string }>(`/api/accounts/v1/kyc/franceconnect/callback${search.startsWith("?") ? search : `?${search}`}`);

// The document check: the provider's hosted session (photo of an identity document and a selfie);
// its decision comes back to the accounts cluster by signed webhook, not through the browser.
export const startDocumentCheck = (token: string) =>
  write<{ provider: string; session_id: string; url: string }>("/api/accounts/v1/players/me/kyc/document", {}, { token });
