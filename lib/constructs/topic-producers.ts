/**
 * TopicProducers: `POST /api/v1/topics/{topic}/events` (DESIGN.md section 4), how server-side
 * producers such as a price ticker publish to a topic. Admin only (checked in the handler from
 * the authorizer's role). It writes the domain table and nothing else; fan-out delivers from the
 * stream.
 *
 * Relies on: HttpApi.addRoute and the bearer-token authorizer of `Identity`.
 */
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AppFunction } from './app-function';
import type { IHttpApiRoutes } from './http-api';

export interface TopicProducersProps {
  /** The API the publish route is added to (`HttpApi`). */
  readonly httpApi: IHttpApiRoutes;
  /** The bearer-token authorizer (`Identity.authorizer`); the handler then checks the admin role. */
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Where producers' events are written: the domain table, whose stream fan-out reads. */
  readonly domainTable: ITable;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class TopicProducers extends Construct {
  public readonly publishFunction: IFunction;

  constructor(scope: Construct, id: string, props: TopicProducersProps) {
    super(scope, id);
    const publish = new AppFunction(this, 'Publish', {
      entry: 'http/topics/publish.ts',
      serviceName: 'topics',
      description: 'POST /api/v1/topics/{topic}/events: server-side producers (admin)',
      logRetention: props.logRetention,
    });
    publish.bindTable(props.domainTable, 'W', 'DOMAIN_TABLE_NAME');
    props.httpApi.addRoute({
      path: '/api/v1/topics/{topic}/events',
      methods: [apigwv2.HttpMethod.POST],
      handler: publish,
      authorizer: props.authorizer,
    });
    this.publishFunction = publish;
  }
}
