"""Read a UPS over Modbus TCP or RTU through a register-map file.

Modules, in the order data flows through them:

- `config`: the `ups[].modbus` configuration section.
- `regmap`: register maps (YAML) and their validation.
- `plan`: groups a map's values into as few read requests as the device allows.
- `client`: the pymodbus wrapper: connect, read, translate errors, keep raw frames.
- `decode`: turns raw registers into numbers (types, word orders, scale, sentinels).
- `collector`: `ModbusUpsCollector`, which produces `ups` and `ups_line` readings.
"""
