"""One package per competition track; each depends on `shared`, never on another track."""
