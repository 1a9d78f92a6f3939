#!/usr/bin/env python3
"""Build the quickstart's example database: a small online shop in SQLite.

Twelve tables with primary and foreign keys, three views, and descriptions written as SQL
comments (SQLite has no COMMENT syntax; the sqlite source reads these comments).
Usage: make_shop_db.py [PATH]   (default examples/shop.db; an existing file is replaced)
"""

import sqlite3
import sys
from pathlib import Path

SCHEMA = """
CREATE TABLE customers /* People and companies who buy from the shop */ (
    customer_id INTEGER PRIMARY KEY, -- surrogate key
    email VARCHAR(255) NOT NULL UNIQUE, -- login and contact address
    full_name VARCHAR(200) NOT NULL, -- name as the customer entered it
    country_code CHAR(2) REFERENCES countries (code), -- ISO 3166 country
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, -- sign-up time
    is_business BOOLEAN NOT NULL DEFAULT 0 -- buys on behalf of a company
);
CREATE TABLE countries /* ISO 3166 countries the shop ships to */ (
    code CHAR(2) PRIMARY KEY, -- ISO 3166 alpha-2
    name VARCHAR(100) NOT NULL, -- English short name
    vat_rate DECIMAL(5, 2) -- standard VAT rate in percent
);
CREATE TABLE addresses /* Shipping and billing addresses of customers */ (
    address_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id), -- owner of the address
    line1 VARCHAR(200) NOT NULL,
    line2 VARCHAR(200),
    city VARCHAR(100) NOT NULL,
    postal_code VARCHAR(20),
    country_code CHAR(2) NOT NULL REFERENCES countries (code)
);
CREATE TABLE categories /* Product categories, nested */ (
    category_id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES categories (category_id), -- enclosing category
    name VARCHAR(100) NOT NULL
);
CREATE TABLE suppliers /* Companies the shop buys stock from */ (
    supplier_id INTEGER PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    country_code CHAR(2) REFERENCES countries (code)
);
CREATE TABLE products /* Everything the shop sells */ (
    product_id INTEGER PRIMARY KEY,
    sku VARCHAR(40) NOT NULL UNIQUE, -- stock keeping unit
    name VARCHAR(200) NOT NULL,
    category_id INTEGER REFERENCES categories (category_id),
    supplier_id INTEGER REFERENCES suppliers (supplier_id),
    unit_price DECIMAL(10, 2) NOT NULL, -- list price in EUR
    weight_grams INTEGER,
    attributes JSON, -- free-form product attributes
    image BLOB -- thumbnail
);
CREATE TABLE inventory /* Stock per product and warehouse */ (
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    warehouse_id INTEGER NOT NULL REFERENCES warehouses (warehouse_id),
    quantity INTEGER NOT NULL DEFAULT 0, -- units on hand
    updated_at TIMESTAMP,
    PRIMARY KEY (product_id, warehouse_id)
);
CREATE TABLE warehouses /* Where stock is kept */ (
    warehouse_id INTEGER PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    country_code CHAR(2) REFERENCES countries (code)
);
CREATE TABLE orders /* One checkout by a customer */ (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    shipping_address_id INTEGER REFERENCES addresses (address_id),
    status VARCHAR(20) NOT NULL DEFAULT 'new', -- new, paid, shipped, delivered, cancelled
    ordered_at DATETIME NOT NULL, -- when the customer checked out
    delivery_date DATE -- promised delivery day
);
CREATE TABLE order_items /* Lines of an order */ (
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    line_no INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL, -- units ordered
    unit_price DECIMAL(10, 2) NOT NULL, -- price paid per unit in EUR
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE payments /* Money received for orders */ (
    payment_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    method VARCHAR(20) NOT NULL, -- card, transfer, voucher
    amount DECIMAL(10, 2) NOT NULL,
    paid_at DATETIME
);
CREATE TABLE reviews /* What customers said about products */ (
    review_id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    rating INTEGER NOT NULL, -- 1 to 5 stars
    body TEXT,
    created_at DATETIME
);
CREATE VIEW order_totals AS
    SELECT o.order_id, o.customer_id, o.ordered_at, SUM(i.quantity * i.unit_price) AS total_eur
    FROM orders AS o JOIN order_items AS i ON i.order_id = o.order_id
    GROUP BY o.order_id, o.customer_id, o.ordered_at;
CREATE VIEW customer_lifetime_value AS
    SELECT c.customer_id, c.email, c.country_code, COUNT(t.order_id) AS orders, SUM(t.total_eur) AS lifetime_eur
    FROM customers AS c LEFT JOIN order_totals AS t ON t.customer_id = c.customer_id
    GROUP BY c.customer_id, c.email, c.country_code;
CREATE VIEW low_stock AS
    SELECT p.sku, p.name, w.name AS warehouse, i.quantity
    FROM inventory AS i
    JOIN products AS p ON p.product_id = i.product_id
    JOIN warehouses AS w ON w.warehouse_id = i.warehouse_id
    WHERE i.quantity < 5;
"""

ROWS = """
INSERT INTO countries VALUES ('DE', 'Germany', 19.00), ('FR', 'France', 20.00), ('NL', 'Netherlands', 21.00);
INSERT INTO customers (customer_id, email, full_name, country_code, is_business) VALUES
    (1, 'ada@example.org', 'Ada Lovelace', 'DE', 0), (2, 'buyer@acme.example', 'ACME Buying', 'FR', 1);
INSERT INTO warehouses VALUES (1, 'Leipzig', 'DE'), (2, 'Lille', 'FR');
INSERT INTO categories VALUES (1, NULL, 'Books'), (2, 1, 'Computing');
INSERT INTO suppliers VALUES (1, 'Paper & Ink', 'NL');
INSERT INTO products (product_id, sku, name, category_id, supplier_id, unit_price) VALUES
    (1, 'BK-001', 'Notes on the Analytical Engine', 2, 1, 24.90);
INSERT INTO inventory VALUES (1, 1, 3, NULL), (1, 2, 40, NULL);
INSERT INTO orders VALUES (1, 1, NULL, 'paid', '2026-01-05 10:00:00', '2026-01-08');
INSERT INTO order_items VALUES (1, 1, 1, 2, 24.90);
"""


def build(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        connection.executescript(ROWS)
    connection.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("shop.db"))
    build(target)
    print(f"built {target}")
