/* The serial port a device agent talks over (board-specific: firmware/BOARD/uart.c). */
#ifndef TML_UART_H
#define TML_UART_H

#include <stdint.h>

void tml_uart_init(void);
void tml_uart_write(const void* data, uint32_t n);
int tml_uart_read(void);  /* a received byte, or -1 when none is waiting */
void tml_uart_wait(void); /* sleeps until a byte may have arrived */

#endif
