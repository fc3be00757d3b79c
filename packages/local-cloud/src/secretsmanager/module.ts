/** Secrets Manager in the local cloud: the templates' secrets, served on the control port. */
import type { ServiceModule } from '../service-module';
import { SecretsManagerService } from './service';

export const secretsManagerModule: ServiceModule = {
  sdkServiceIds: { secretsmanager: 'SECRETS_MANAGER' },
  async load(cloud) {
    // Generated secrets (e.g. a token-signing key) persist in the state directory across restarts.
    const secretsManager = new SecretsManagerService(cloud, { stateDir: cloud.stateDir });
    cloud.mount('secretsmanager', secretsManager, { json: secretsManager.jsonService });
    await secretsManager.start();
    return {};
  },
};
