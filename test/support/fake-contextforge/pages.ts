/** Context Forge's OAuth callback pages: admin-oriented HTML (reference Part D; mcpgateway/routers/oauth_router.py). */

export function successPage(gatewayName: string, email: string, expiresAt: number | undefined): string {
  const expires = expiresAt === undefined ? 'Unknown' : new Date(expiresAt).toISOString();
  return `<!DOCTYPE html>
<html>
<head><title>OAuth Authorization Successful</title></head>
<body>
  <h1 class="success">✅ OAuth Authorization Successful</h1>
  <div class="info">
    <p><strong>Gateway:</strong> ${escapeHtml(gatewayName)}</p>
    <p><strong>User ID:</strong> ${escapeHtml(email)}</p>
    <p><strong>Expires:</strong> ${escapeHtml(expires)}</p>
    <p><strong>Status:</strong> Authorization completed successfully</p>
  </div>
  <div style="margin: 30px 0;">
    <h3>Next Steps:</h3>
    <p>Now that OAuth authorization is complete, you can fetch tools from the MCP server:</p>
    <button id="fetch-tools-btn" class="button">🔧 Fetch Tools from MCP Server</button>
    <div id="fetch-status"></div>
  </div>
  <a href="/admin#gateways" class="button">Return to Admin Panel</a>
</body>
</html>`;
}

/** `lines` are already HTML. */
export function failurePage(lines: string[]): string {
  return `<!DOCTYPE html>
<html>
<head><title>OAuth Authorization Failed</title></head>
<body>
  <h1 class="error">❌ OAuth Authorization Failed</h1>
  ${lines.join('\n  ')}
  <a href="/admin#gateways" class="button">Return to Admin Panel</a>
</body>
</html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' })[c] ?? c);
}
