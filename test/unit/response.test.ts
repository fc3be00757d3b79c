import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, APP_ERROR_CODES, BadRequestError } from '../../lambdas/shared/errors';
import { errorResponse, HTTP_STATUS_BY_CODE, json, toErrorResponse } from '../../lambdas/shared/http/response';

describe('http responses', () => {
  it('serializes JSON with the content type and no caching', () => {
    const response = json(200, { status: 'ok' });
    expect(response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: '{"status":"ok"}',
    });
    expect(json(201, {}, { location: '/x' }).headers).toMatchObject({ location: '/x' });
  });

  it('shapes errors as {"error":{"code","message","details"}} with the status of the code', () => {
    const response = errorResponse('conflict', 'Idempotency-Key reused with another body');
    expect(response.statusCode).toBe(409);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'conflict', message: 'Idempotency-Key reused with another body', details: [] },
    });
  });

  it('has a status for every error code', () => {
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual([...APP_ERROR_CODES].sort());
    for (const status of Object.values(HTTP_STATUS_BY_CODE)) {
      expect(status).toBeGreaterThanOrEqual(400);
    }
  });

  it('turns a zod failure into a 400 that names the fields', () => {
    const schema = z.object({ slotId: z.string(), quantity: z.number().int() });
    const result = schema.safeParse({ quantity: 1.5 });
    expect(result.success).toBe(false);
    const response = toErrorResponse(BadRequestError.fromZod(result.error!));
    expect(response.statusCode).toBe(400);
    const body = JSON.parse(response.body);
    expect(body.error.code).toBe('bad_request');
    expect(body.error.details.map((d: { field: string }) => d.field)).toEqual(['slotId', 'quantity']);
  });

  it('maps typed errors to their status', () => {
    expect(toErrorResponse(new AppError('forbidden', 'Not yours')).statusCode).toBe(403);
  });

  it('answers unknown errors with a generic 500 that leaks nothing', () => {
    const error = new Error('ECONNREFUSED arn:aws:dynamodb:eu-west-1:123456789012:table/x');
    const response = toErrorResponse(error);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(response.body).not.toContain('arn:aws');
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'internal', message: 'Internal server error', details: [] },
    });
  });
});
