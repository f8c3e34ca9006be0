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
