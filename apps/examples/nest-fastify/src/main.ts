import { defrost } from '@defrost/fastify';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
  // Before listen: the plugin checkpoints once the server listens (when defrost asked for it).
  await app.register(defrost, {
    warmup: {
      requests: [{ url: '/' }, { url: '/books' }, { url: '/books/1' }, { url: '/books/2/price' }],
      rounds: 200,
    },
  });
  await app.listen(process.env.PORT ?? 3000, '127.0.0.1');
}
bootstrap();
