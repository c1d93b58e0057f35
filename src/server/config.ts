/** The server's slice of the validated environment (`src/config.ts`). */
import type { AppConfig } from '../config.js';
import type { ServerConfig } from './deps.js';

export function serverConfigFrom(config: AppConfig): ServerConfig {
  const server: ServerConfig = {
    publicUrl: config.publicUrl,
    sessionSecret: config.sessionSecret,
    // Secure cookies whenever the public URL is https (plain http only for localhost/demo).
    cookieSecure: config.publicUrl.startsWith('https://'),
    salesforceLoginUrl: config.salesforce.loginUrl,
    scheduleEveryMs: config.worker.syncIntervalMinutes * 60_000,
    jsonLimitBytes: config.http.bodyLimitBytes,
    // Uninstall answers at once: the cancel flag aborts the tenant's running job at its next
    // checkpoint (heartbeat ≤ 1 s), and the worker purges what that job wrote after the deletion.
    uninstallWaitMs: 0,
  };
  if (config.admin !== undefined) {
    server.adminUser = config.admin.user;
    server.adminPassword = config.admin.password;
  }
  return server;
}
