/* vb_err: status and one-line message reporting for lib routines. */
#include "vb_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vb_err_clear(vb_err *e)
{
	if (e == NULL)
		return;
	e->status = VB_OK;
	e->msg[0] = '\0';
}

void vb_err_setf(vb_err *e, int status, const char *fmt, ...)
{
	if (e == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->status = status;
}

void vb_err_prefix(vb_err *e, const char *prefix)
{
	if (e == NULL || prefix == NULL || prefix[0] == '\0')
		return;
	char tmp[sizeof e->msg];
	size_t n = strlen(prefix);
	if (n + 2 >= sizeof tmp)
		return;
	memcpy(tmp, prefix, n);
	memcpy(tmp + n, ": ", 2);
	/* The message is cut at the buffer's end if the whole does not fit. */
	size_t room = sizeof tmp - n - 3, len = strlen(e->msg);
	len = len < room ? len : room;
	memcpy(tmp + n + 2, e->msg, len);
	tmp[n + 2 + len] = '\0';
	memcpy(e->msg, tmp, sizeof tmp);
}

int vb_err_exit_code(int status)
{
	if (status == VB_OK)
		return 0;
	return status == VB_ERR_INPUT ? 2 : 1;
}
