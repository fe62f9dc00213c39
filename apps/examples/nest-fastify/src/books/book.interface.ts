export interface Book {
  id: number;
  title: string;
  author: string;
}

export interface Price {
  id: number;
  amount: number;
  currency: string;
}
