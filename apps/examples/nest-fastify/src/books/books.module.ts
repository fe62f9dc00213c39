import { Module } from '@nestjs/common';
import { BooksController } from './books.controller';
import { BooksService } from './books.service';
import { PricesClient } from './prices.client';

@Module({
  controllers: [BooksController],
  providers: [BooksService, PricesClient],
})
export class BooksModule {}
