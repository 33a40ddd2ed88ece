// One joined item as the curated zone holds it (docs/contract.md, "Curated zone"): its own module,
// so that the join (which produces them) and the Parquet codec (which stores them) import it
// without importing each other.
export interface JoinedRow {
  item_id: string;
  order_id: string;
  user_id: string;
  product_id: string;
  category: string;
  sale_price_cents: number;
  returned: boolean;
  order_returned: boolean;
}
