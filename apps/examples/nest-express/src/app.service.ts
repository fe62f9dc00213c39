import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';

@Injectable()
export class AppService {
  private readonly bootId = randomUUID();
  private greetings = 0;

  getHello(): string {
    this.greetings++;
    return 'Hello World!';
  }

  /** What this process has done since it started. */
  getStats() {
    return { bootId: this.bootId, greetings: this.greetings };
  }
}
