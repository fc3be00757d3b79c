#!/usr/bin/env node
/**
 * CDK entry point (`cdk.json`: `npx tsx bin/app.ts`). The stage comes from context:
 * `npx cdk synth -c stage=dev`; cdk.json defaults it to dev.
 */
import { buildApp } from '../lib/app';

buildApp();
