import { Injectable, NotFoundException } from '@nestjs/common';
import type { Book } from './book.interface';

@Injectable()
export class BooksService {
  private readonly books: Book[] = [
    { id: 1, title: 'Refactoring', author: 'Martin Fowler' },
    { id: 2, title: 'Domain-Driven Design', author: 'Eric Evans' },
    { id: 3, title: 'Release It!', author: 'Michael T. Nygard' },
  ];
  /** Book id -> views since the process started. */
  readonly views = new Map<number, number>();

  findAll(): Book[] {
    return this.books;
  }

  findOne(id: number): Book {
    const book = this.books.find((b) => b.id === id);
    if (!book) throw new NotFoundException(`Book #${id} not found`);
    this.views.set(id, (this.views.get(id) ?? 0) + 1);
    return book;
  }
}
