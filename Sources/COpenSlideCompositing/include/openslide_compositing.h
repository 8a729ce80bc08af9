#ifndef OPENSLIDE_COMPOSITING_H
#define OPENSLIDE_COMPOSITING_H

/// OpenSlide paints each tile onto its region with Cairo's SATURATE operator, which pixman 0.42
/// (Debian 12's) runs on ARGB tiles through its floating-point path: about 25 ns a pixel, more
/// than decoding the tile. Where every pixel painted is opaque or transparent and every tile sits
/// at a whole-pixel position, as in level-0 reads of the formats `OpenSlideSource` lists, DEST_OVER
/// gives the same bytes through pixman's 8-bit path. While this is on for the calling thread,
/// `cairo_set_operator` (interposed here: OpenSlide calls it through the dynamic linker) turns
/// SATURATE into DEST_OVER. Returns the previous setting, so calls nest.
int openslide_compositing_set_opaque(int on);

/// Whether the interposition is in effect: false when the dynamic linker bound OpenSlide's
/// `cairo_set_operator` elsewhere (a static link, say), in which case nothing changes.
int openslide_compositing_is_interposed(void);

#endif
