-- Image models: image tokens read and generated (subsets of input and output), and images priced per image with the
-- quality and size ("hd/1024x1792") whose catalog price they were billed at.
ALTER TABLE usage_events
  ADD COLUMN image_input_tokens  integer NOT NULL DEFAULT 0 CHECK (image_input_tokens >= 0),
  ADD COLUMN image_output_tokens integer NOT NULL DEFAULT 0 CHECK (image_output_tokens >= 0),
  ADD COLUMN images              integer NOT NULL DEFAULT 0 CHECK (images >= 0),
  ADD COLUMN image_tier          text;
