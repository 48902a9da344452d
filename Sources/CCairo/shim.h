// Thin shim over Cairo (image, PNG, SVG and PDF surfaces). Nothing else lives here.
#include <cairo/cairo.h>
#include <cairo/cairo-svg.h>
#include <cairo/cairo-pdf.h>
