import { Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import type { Book, Price } from './book.interface';
import { BooksService } from './books.service';
import { PricesClient } from './prices.client';

@Controller('books')
export class BooksController {
  constructor(
    private readonly books: BooksService,
    private readonly prices: PricesClient,
  ) {}

  @Get()
  findAll(): Book[] {
    return this.books.findAll();
  }

  @Get('lifecycle')
  lifecycle() {
    return { ...this.prices.lifecycle, views: Object.fromEntries(this.books.views) };
  }

  @Get(':id')
  findOne(@Param('id', ParseIntPipe) id: number): Book {
    return this.books.findOne(id);
  }

  @Get(':id/price')
  price(@Param('id', ParseIntPipe) id: number): Promise<Price> {
    this.books.findOne(id);
    return this.prices.priceOf(id);
  }
}
