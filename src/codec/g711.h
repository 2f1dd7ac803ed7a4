/* ITU-T G.711 mu-law (PCMU) and A-law (PCMA) companding, with our own
 * tables (no library).  Linear samples are 16-bit; G.711 uses the 14-bit
 * (mu-law) / 13-bit (A-law) most significant bits of them. */
#ifndef WIMS_CODEC_G711_H
#define WIMS_CODEC_G711_H

#include <stddef.h>
#include <stdint.h>

/** Encode n linear samples into n mu-law octets (0 -> 0xFF). */
void wims_g711_ulaw_encode(const int16_t *pcm, uint8_t *out, size_t n);
/** Decode n mu-law octets into n linear samples (0xFF/0x7F -> 0). */
void wims_g711_ulaw_decode(const uint8_t *in, int16_t *pcm, size_t n);
/** Encode n linear samples into n A-law octets (0 -> 0xD5; even bits inverted). */
void wims_g711_alaw_encode(const int16_t *pcm, uint8_t *out, size_t n);
/** Decode n A-law octets into n linear samples (0xD5 -> 8, the segment midpoint). */
void wims_g711_alaw_decode(const uint8_t *in, int16_t *pcm, size_t n);

#endif
