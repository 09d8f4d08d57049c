/* fastcrc._crc: CRC-32 (IEEE 802.3, as in zlib) and Adler-32. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define CRC32_POLY 0xEDB88320u   /* reflected 0x04C11DB7 */
#define ADLER_MOD 65521u
#define ADLER_NMAX 5552          /* largest n keeping b below 2^32 between reductions */
#define RELEASE_GIL_AT 8192      /* bytes; below this the GIL dance costs more */

static uint32_t crc_table[256];

static void
init_crc_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? CRC32_POLY ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* Feed len bytes into the CRC shift register (the inverted form of a CRC). */
static uint32_t
crc32_update(uint32_t reg, const unsigned char *p, Py_ssize_t len)
{
    while (len-- > 0)
        reg = crc_table[(reg ^ *p++) & 0xFFu] ^ (reg >> 8);
    return reg;
}

PyDoc_STRVAR(crc32_doc,
"crc32(data, value=0, /) -> int\n\n"
"Compute a CRC-32 checksum of data. To checksum a stream, pass the result\n"
"of the previous call as value. Same results as zlib.crc32.");

static PyObject *
fastcrc_crc32(PyObject *self, PyObject *args)
{
    Py_buffer view;
    unsigned int value = 0;
    uint32_t reg;

    if (!PyArg_ParseTuple(args, "y*|I:crc32", &view, &value))
        return NULL;

    /* start from the all-ones register, or continue from a previous result */
    reg = value ? (uint32_t)value : 0xFFFFFFFFu;
    if (view.len >= RELEASE_GIL_AT) {
        Py_BEGIN_ALLOW_THREADS
        reg = crc32_update(reg, (const unsigned char *)view.buf, view.len);
        Py_END_ALLOW_THREADS
    }
    else {
        reg = crc32_update(reg, (const unsigned char *)view.buf, view.len);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong((unsigned long)(reg ^ 0xFFFFFFFFu));
}

PyDoc_STRVAR(adler32_doc,
"adler32(data, value=1, /) -> int\n\n"
"Compute an Adler-32 checksum of data, optionally continuing from value.\n"
"Same results as zlib.adler32.");

static PyObject *
fastcrc_adler32(PyObject *self, PyObject *args)
{
    Py_buffer view;
    unsigned int value = 1;

    if (!PyArg_ParseTuple(args, "y*|I:adler32", &view, &value))
        return NULL;

    uint32_t a = value & 0xFFFFu;
    uint32_t b = (value >> 16) & 0xFFFFu;
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;

    while (n > 0) {
        Py_ssize_t chunk = n < ADLER_NMAX ? n : ADLER_NMAX;
        n -= chunk;
        while (chunk-- > 0) {
            a += *p++;
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong((unsigned long)((b << 16) | a));
}

static PyMethodDef crc_methods[] = {
    {"crc32", fastcrc_crc32, METH_VARARGS, crc32_doc},
    {"adler32", fastcrc_adler32, METH_VARARGS, adler32_doc},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef crc_module = {
    PyModuleDef_HEAD_INIT,
    "fastcrc._crc",
    "CRC-32 and Adler-32 checksums.",
    -1,
    crc_methods
};

PyMODINIT_FUNC
PyInit__crc(void)
{
    init_crc_table();
    return PyModule_Create(&crc_module);
}
