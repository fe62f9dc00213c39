import { Injectable, NotFoundException } from '@nestjs/common';
import type { Cat } from './cat.interface';
import type { CreateCatDto } from './create-cat.dto';

@Injectable()
export class CatsService {
  private readonly cats: Cat[] = [
    { id: 1, name: 'Tom', age: 3, breed: 'Russian Blue' },
    { id: 2, name: 'Felix', age: 5, breed: 'Tuxedo' },
  ];

  create(cat: CreateCatDto): Cat {
    const created = { id: this.cats.length + 1, ...cat };
    this.cats.push(created);
    return created;
  }

  findAll(): Cat[] {
    return this.cats;
  }

  findOne(id: number): Cat {
    const cat = this.cats.find((c) => c.id === id);
    if (!cat) throw new NotFoundException(`Cat #${id} not found`);
    return cat;
  }
}
