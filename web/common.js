// Shared by the slide list and the viewer: API calls that carry the optional access token.
const TOKEN = new URLSearchParams(location.search).get("token");
function tokenQuery() { return TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : ""; }
function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(TOKEN);
}
async function api(path) {
  const response = await fetch(withToken(path), { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error.message; } catch (_) {}
    throw new Error(`${response.status} ${message}`);
  }
  return response.json();
}
