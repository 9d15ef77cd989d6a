"""Facts: one document in, its attributed figures out as `Fact` records with raw offsets."""
