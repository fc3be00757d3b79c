/**
 * Which CloudFormation resource types the local cloud runs, which have no local effect, and which
 * it cannot emulate. Every resource of the template lands in exactly one of these, and the last
 * two are printed at start-up, so nothing is ignored silently.
 */
import type { CloudModel } from './model';

/** Types the local cloud emulates (their unsupported properties are reported by each service). */
export const EMULATED_TYPES = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::RouteResponse',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::IntegrationResponse',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::SQS::Queue',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::Scheduler::Schedule',
  'AWS::Scheduler::ScheduleGroup',
  'AWS::StepFunctions::StateMachine',
  'AWS::SecretsManager::Secret',
  'AWS::SES::EmailIdentity',
  'AWS::SES::Template',
]);

/** Types with no behaviour to reproduce locally: permissions, logging, metrics, bookkeeping. */
export const NO_LOCAL_EFFECT_TYPES: Record<string, string> = {
  'AWS::IAM::Role': 'IAM is not enforced locally',
  'AWS::IAM::Policy': 'IAM is not enforced locally',
  'AWS::IAM::ManagedPolicy': 'IAM is not enforced locally',
  'AWS::Lambda::Permission': 'IAM is not enforced locally',
  'AWS::Logs::LogGroup': 'function output goes to the console',
  'AWS::CDK::Metadata': 'CDK bookkeeping',
  'AWS::CloudWatch::Alarm': 'CloudWatch is not emulated; alarms have no local effect',
  'AWS::CloudWatch::Dashboard': 'CloudWatch is not emulated; dashboards have no local effect',
  'AWS::ApiGatewayV2::Deployment': 'stages deploy automatically locally',
  'AWS::ApiGateway::Account': 'account-level logging role',
  'AWS::SQS::QueuePolicy': 'IAM is not enforced locally',
  'AWS::SQS::QueueInlinePolicy': 'IAM is not enforced locally',
  'AWS::Events::EventBusPolicy': 'IAM is not enforced locally (event bus permissions)',
  'AWS::SecretsManager::ResourcePolicy': 'IAM is not enforced locally (secret resource policies)',
  'AWS::SES::ConfigurationSet': 'sending options only; SendEmail accepts ConfigurationSetName and ignores it',
};

export function reportTemplateCoverage(model: CloudModel): void {
  for (const r of model.resources) {
    if (EMULATED_TYPES.has(r.type)) continue;
    const reason = NO_LOCAL_EFFECT_TYPES[r.type];
    if (reason) model.diagnostics.ignored(r.where, `${r.type} (${reason})`);
    else model.diagnostics.unsupported(r.where, `${r.type} is not emulated by the local cloud`);
  }
}
