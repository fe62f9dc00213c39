import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import type { Price } from './book.interface';

/**
 * The client of the prices API (PRICES_URL): a keep-alive pool of its own, which no checkpoint
 * could freeze while it holds connections. It closes the pool before every checkpoint and opens
 * a new one after every restore, through the @defrost/fastify decorator.
 */
@Injectable()
export class PricesClient implements OnModuleInit {
  private readonly origin = process.env.PRICES_URL ?? 'http://127.0.0.1:8080';
  private pool = new Pool(this.origin, { connections: 4 });
  /** How often this process went through the hooks: what a copy reports at /books/lifecycle. */
  readonly lifecycle = { checkpoints: 0, restores: 0 };

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit() {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.defrost.beforeCheckpoint(async () => {
      this.lifecycle.checkpoints++;
      await this.pool.close();
    }, 'prices pool');
    fastify.defrost.afterRestore(() => {
      this.lifecycle.restores++;
      this.pool = new Pool(this.origin, { connections: 4 });
    }, 'prices pool');
  }

  async priceOf(id: number): Promise<Price> {
    const { statusCode, body } = await this.pool.request({ method: 'GET', path: `/prices/${id}` });
    if (statusCode !== 200) throw new Error(`prices API: ${statusCode} for book ${id}`);
    return (await body.json()) as Price;
  }
}
