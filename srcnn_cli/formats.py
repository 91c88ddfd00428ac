"""The format table, in one place and free of heavy imports: which formats srcnn reads and
writes, their names (as Pillow spells them) and their file extensions."""

# -f values and output extensions -> the format written
FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "tif": "TIFF", "bmp": "BMP"}
# the extension each written format gets when srcnn names a file
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
# what is read (GIF too: read, then written as PNG); in folders and globs the name decides first,
# then, for every file, its first bytes
INPUT_SUFFIXES = frozenset({f".{key}" for key in FORMATS} | {".gif"})
READ_FORMATS = "PNG, JPEG, TIFF, WebP, BMP or GIF"
