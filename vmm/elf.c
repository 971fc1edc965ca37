/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF64 vmlinux parsing: PT_LOAD segments placed by p_paddr, the physical
 * entry point, and the PVH entry from the Xen ELF note type 18
 * (XEN_ELFNOTE_PHYS32_ENTRY, xen/include/public/elfnote.h). Every offset and
 * size comes from the file and is checked against its length before use.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/util.h"

#include "boot_priv.h"

bool elf_is_elf(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static bool range_in(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

static int elf_check_ehdr(const Elf64_Ehdr *eh, size_t len, const char *name)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
		log_err("kernel %s: not an x86-64 ELF64 little-endian file; "
		        "build the kernel for x86_64",
		        name);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		log_err("kernel %s: ELF type %u is not an executable (ET_EXEC)",
		        name, eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    !range_in(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
	              len)) {
		log_err("kernel %s: program headers (offset %" PRIu64
		        ", %u entries) lie outside the %zu-byte file "
		        "(truncated?)",
		        name, (uint64_t)eh->e_phoff, eh->e_phnum, len);
		return -ENOEXEC;
	}
	return 0;
}

/* Reads the 4- or 8-byte little-endian descriptor of a PHYS32_ENTRY note. */
static void elf_note_pvh(const uint8_t *desc, uint32_t descsz,
                         struct elf_image *img)
{
	uint64_t v = 0;

	if (descsz != 4 && descsz != 8)
		return;
	memcpy(&v, desc, descsz);
	if (v > UINT32_MAX)
		return; /* a 32-bit entry cannot be above 4 GiB */
	img->has_pvh = true;
	img->pvh_entry = v;
}

static void elf_scan_notes(const uint8_t *p, uint64_t size,
                           struct elf_image *img)
{
	uint64_t off = 0;

	while (size - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, namesz, descsz;

		memcpy(&nh, p + off, sizeof(nh));
		namesz = ALIGN_UP((uint64_t)nh.n_namesz, 4);
		descsz = ALIGN_UP((uint64_t)nh.n_descsz, 4);
		name_off = off + sizeof(nh);
		desc_off = name_off + namesz;
		if (!range_in(name_off, namesz, size) ||
		    !range_in(desc_off, descsz, size))
			return; /* malformed: stop, the rest is unreadable */
		if (nh.n_namesz == 4 && !memcmp(p + name_off, "Xen", 4) &&
		    nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY)
			elf_note_pvh(p + desc_off, nh.n_descsz, img);
		off = desc_off + descsz;
	}
}

static int elf_add_load(const Elf64_Phdr *ph, size_t len, const char *name,
                        struct elf_image *img)
{
	struct elf_load *l;

	if (ph->p_paddr + ph->p_memsz < ph->p_paddr) {
		log_err("kernel %s: PT_LOAD at 0x%" PRIx64 " with %" PRIu64
		        " bytes wraps around the address space; the ELF is "
		        "corrupt",
		        name, (uint64_t)ph->p_paddr, (uint64_t)ph->p_memsz);
		return -ENOEXEC;
	}
	if (!range_in(ph->p_offset, ph->p_filesz, len) ||
	    ph->p_filesz > ph->p_memsz) {
		log_err("kernel %s: PT_LOAD at offset %" PRIu64 " (%" PRIu64
		        " bytes in file, %" PRIu64 " in memory) does not fit "
		        "the %zu-byte file (truncated?)",
		        name, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz,
		        (uint64_t)ph->p_memsz, len);
		return -ENOEXEC;
	}
	if (img->nr_loads == ELF_MAX_LOADS) {
		log_err("kernel %s: more than %d PT_LOAD segments", name,
		        ELF_MAX_LOADS);
		return -ENOEXEC;
	}
	l = &img->loads[img->nr_loads++];
	*l = (struct elf_load){ph->p_offset, ph->p_filesz, ph->p_memsz,
	                       ph->p_paddr, ph->p_vaddr};
	img->start = MIN(img->start, l->paddr);
	img->end = MAX(img->end, l->paddr + l->memsz);
	return 0;
}

/*
 * Linux's vmlinux says phys_startup_64 (physical) but other kernels give a
 * virtual e_entry: when it is not inside a segment's physical range,
 * translate it through the segment whose virtual range holds it.
 */
static uint64_t elf_phys_entry(const struct elf_image *img, uint64_t entry)
{
	for (unsigned int i = 0; i < img->nr_loads; i++) {
		const struct elf_load *l = &img->loads[i];

		if (entry >= l->paddr && entry - l->paddr < l->memsz)
			return entry;
	}
	for (unsigned int i = 0; i < img->nr_loads; i++) {
		const struct elf_load *l = &img->loads[i];

		if (entry >= l->vaddr && entry - l->vaddr < l->memsz)
			return entry - l->vaddr + l->paddr;
	}
	return entry;
}

int elf_parse(const uint8_t *buf, size_t len, const char *name,
              struct elf_image *img)
{
	Elf64_Ehdr eh;
	int r;

	if (len < sizeof(eh) || !elf_is_elf(buf, len)) {
		log_err("kernel %s: not an ELF file", name);
		return -ENOEXEC;
	}
	memcpy(&eh, buf, sizeof(eh));
	r = elf_check_ehdr(&eh, len, name);
	if (r < 0)
		return r;
	memset(img, 0, sizeof(*img));
	img->start = UINT64_MAX;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			r = elf_add_load(&ph, len, name, img);
			if (r < 0)
				return r;
		} else if (ph.p_type == PT_NOTE &&
		           range_in(ph.p_offset, ph.p_filesz, len)) {
			elf_scan_notes(buf + ph.p_offset, ph.p_filesz, img);
		}
	}
	if (!img->nr_loads) {
		log_err("kernel %s: ELF has no PT_LOAD segment", name);
		return -ENOEXEC;
	}
	img->entry = elf_phys_entry(img, eh.e_entry);
	return 0;
}
