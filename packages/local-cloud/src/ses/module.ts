/**
 * Amazon SES v2 in the local cloud: the templates' identities and email templates, SendEmail on
 * the control port, and the mailbox on the control API (`GET` and `DELETE /ses/messages`).
 */
import { AwsError } from '../aws-protocol';
import type { ServiceModule } from '../service-module';
import { parseAddress } from './identities';
import { SesService } from './service';

export const sesModule: ServiceModule = {
  // The SDK's service id is "SESv2" (@aws-sdk/client-sesv2): its clients read AWS_ENDPOINT_URL_SESV2.
  // SES v1 (@aws-sdk/client-ses, the Query protocol) is not emulated and stays on AWS_ENDPOINT_URL.
  sdkServiceIds: { sesv2: 'SESV2' },
  load(cloud) {
    const ses = new SesService(cloud);
    cloud.mount('sesv2', ses, { rest: ses.restService });
    cloud.control.route('GET', '/ses/messages', ({ query }) => {
      const to = query.get('to');
      if (to !== null && !parseAddress(to))
        throw new AwsError('ValidationError', `"to" must be an email address, got ${JSON.stringify(to)}`);
      return { status: 200, body: { messages: ses.mailbox.list(to === null ? undefined : parseAddress(to)) } };
    });
    cloud.control.route('DELETE', '/ses/messages', () => ({ status: 200, body: { deleted: ses.mailbox.clear() } }));
    return {};
  },
};
