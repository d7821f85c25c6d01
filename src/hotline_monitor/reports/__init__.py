"""The bureau's monthly and yearly reports: HTML with inline SVG charts, Excel, and PDF."""
