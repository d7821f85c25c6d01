"""Read a UPS over Modbus TCP or RTU through a register-map file.

Modules, in the order data flows through them:

- `config`: the `ups[].modbus` configuration section.
- `regmap`: register maps (YAML) and their validation.
- `plan`: groups a map's values into as few read requests as the device allows.
- `client`: the pymodbus wrapper: connect, read, translate errors, keep raw frames.
- `decode`: turns raw registers into numbers (types, word orders, scale, sentinels).
- `collector`: `ModbusUpsCollector`, which produces `ups` and `ups_line` readings.
"""

# The configuration model imports this package's `config` module for the
# `ups[].modbus` section. Importing the model first, whichever of this
# package's modules is imported first, keeps that import order and avoids a
# circular import through `hotline_monitor.config`.
import hotline_monitor.config.model  # noqa: E402, F401
