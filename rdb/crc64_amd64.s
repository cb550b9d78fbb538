#include "textflag.h"

// func crc64Fold(crc uint64, p []byte, k *[8]uint64) (lo, hi uint64)
//
// Folds p (a multiple of 64 bytes, at least 64) into one 128-bit value
// congruent, modulo the CRC polynomial, to crc followed by p; see
// crc64_clmul.go for the constants. Four 16-byte accumulators are folded
// forward by 64 bytes per step, then into the last one.
TEXT ·crc64Fold(SB), NOSPLIT, $0-56
	MOVQ crc+0(FP), AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX
	MOVQ k+32(FP), DX

	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVQ  AX, X4
	PXOR  X4, X0
	ADDQ  $64, SI
	SUBQ  $64, CX
	MOVOU 0(DX), X5

loop:
	CMPQ CX, $64
	JB   reduce
	MOVO X0, X6
	MOVO X1, X7
	MOVO X2, X8
	MOVO X3, X9
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X6
	PCLMULQDQ $0x00, X5, X1
	PCLMULQDQ $0x11, X5, X7
	PCLMULQDQ $0x00, X5, X2
	PCLMULQDQ $0x11, X5, X8
	PCLMULQDQ $0x00, X5, X3
	PCLMULQDQ $0x11, X5, X9
	MOVOU 0(SI), X10
	MOVOU 16(SI), X11
	MOVOU 32(SI), X12
	MOVOU 48(SI), X13
	PXOR X6, X0
	PXOR X7, X1
	PXOR X8, X2
	PXOR X9, X3
	PXOR X10, X0
	PXOR X11, X1
	PXOR X12, X2
	PXOR X13, X3
	ADDQ $64, SI
	SUBQ $64, CX
	JMP  loop

reduce:
	MOVOU 16(DX), X5
	MOVO  X0, X6
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X6
	PXOR  X6, X3
	PXOR  X0, X3
	MOVOU 32(DX), X5
	MOVO  X1, X6
	PCLMULQDQ $0x00, X5, X1
	PCLMULQDQ $0x11, X5, X6
	PXOR  X6, X3
	PXOR  X1, X3
	MOVOU 48(DX), X5
	MOVO  X2, X6
	PCLMULQDQ $0x00, X5, X2
	PCLMULQDQ $0x11, X5, X6
	PXOR  X6, X3
	PXOR  X2, X3
	MOVQ   X3, AX
	PEXTRQ $1, X3, BX
	MOVQ   AX, lo+40(FP)
	MOVQ   BX, hi+48(FP)
	RET
