"""Spiral neighbourhoods of mesh vertices, in the order FantasyID's vertex network was trained on.

A spiral convolution reads, for each vertex, a fixed-length sequence of vertex indices: the vertex,
its one-ring, then the next ring, truncated. The released weights multiply those slots in the order
OpenMesh's ``TriMesh`` gives, which depends on how OpenMesh links half-edges while faces are added
one by one and on its clockwise vertex circulator. :class:`HalfedgeMesh` reproduces that
construction (``PolyConnectivity::add_face``) so the spirals match without the OpenMesh package.
"""

from __future__ import annotations

import numpy as np

INVALID = -1


class HalfedgeMesh:
    """OpenMesh's half-edge connectivity of a triangle list, built face by face as OpenMesh builds it.

    Half-edges ``2e`` and ``2e + 1`` form edge ``e``; a half-edge's opposite is ``h ^ 1``.
    """

    def __init__(self, num_vertices: int, faces: np.ndarray) -> None:
        self.vertex_halfedge = [INVALID] * num_vertices  # an outgoing half-edge of each vertex
        self.to_vertex: list[int] = []
        self.next: list[int] = []
        self.prev: list[int] = []
        self.face: list[int] = []
        self._halfedge_of: dict[tuple[int, int], int] = {}
        self.num_faces = 0
        for triangle in np.asarray(faces, dtype=np.int64):
            self._add_face([int(v) for v in triangle])

    # --- OpenMesh's primitives -------------------------------------------------------------
    def _is_boundary_halfedge(self, h: int) -> bool:
        return self.face[h] == INVALID

    def _is_boundary_vertex(self, v: int) -> bool:
        h = self.vertex_halfedge[v]
        return h == INVALID or self._is_boundary_halfedge(h)

    def _cw_rotated(self, h: int) -> int:
        return self.next[h ^ 1]

    def _set_next(self, h: int, following: int) -> None:
        self.next[h] = following
        self.prev[following] = h

    def _new_edge(self, start: int, end: int) -> int:
        h = len(self.to_vertex)
        self.to_vertex += [end, start]
        self.next += [INVALID, INVALID]
        self.prev += [INVALID, INVALID]
        self.face += [INVALID, INVALID]
        self._halfedge_of[start, end], self._halfedge_of[end, start] = h, h + 1
        return h

    def outgoing(self, v: int) -> list[int]:
        """Outgoing half-edges of ``v``, clockwise from its stored one (OpenMesh's ``voh`` circulator)."""
        start = self.vertex_halfedge[v]
        if start == INVALID:
            return []
        ring, h = [start], self._cw_rotated(start)
        while h != start:
            ring.append(h)
            h = self._cw_rotated(h)
        return ring

    def neighbours(self, v: int) -> list[int]:
        """The one-ring of ``v`` in OpenMesh's ``vv`` order."""
        return [self.to_vertex[h] for h in self.outgoing(v)]

    def _adjust_outgoing(self, v: int) -> None:
        for h in self.outgoing(v):
            if self._is_boundary_halfedge(h):
                self.vertex_halfedge[v] = h
                return

    def _add_face(self, vertices: list[int]) -> None:
        """``PolyConnectivity::add_face``: a face that would make the mesh non-manifold is skipped,
        as OpenMesh skips it."""
        n = len(vertices)
        halfedges = [self._halfedge_of.get((vertices[i], vertices[(i + 1) % n]), INVALID) for i in range(n)]
        is_new = [h == INVALID for h in halfedges]
        if any(not self._is_boundary_vertex(v) for v in vertices) or any(
                not new and not self._is_boundary_halfedge(h) for h, new in zip(halfedges, is_new)):
            return
        needs_adjust = [False] * n
        links: list[tuple[int, int]] = []
        for i in range(n):  # re-link patches between two existing boundary half-edges
            ii = (i + 1) % n
            if is_new[i] or is_new[ii]:
                continue
            inner_prev, inner_next = halfedges[i], halfedges[ii]
            if self.next[inner_prev] == inner_next:
                continue
            boundary_prev = inner_next ^ 1
            while True:
                boundary_prev = self.next[boundary_prev] ^ 1
                if self._is_boundary_halfedge(boundary_prev):
                    break
            if boundary_prev == inner_prev:
                return  # OpenMesh: "patch re-linking failed"
            boundary_next = self.next[boundary_prev]
            patch_start, patch_end = self.next[inner_prev], self.prev[inner_next]
            links += [(boundary_prev, patch_start), (patch_end, boundary_next), (inner_prev, inner_next)]
        for i in range(n):
            if is_new[i]:
                halfedges[i] = self._new_edge(vertices[i], vertices[(i + 1) % n])
        face = self.num_faces
        self.num_faces += 1
        for i in range(n):
            ii = (i + 1) % n
            v, inner_prev, inner_next = vertices[ii], halfedges[i], halfedges[ii]
            case = (1 if is_new[i] else 0) | (2 if is_new[ii] else 0)
            if case:
                outer_prev, outer_next = inner_next ^ 1, inner_prev ^ 1
                if case == 1:
                    links.append((self.prev[inner_next], outer_next))
                    self.vertex_halfedge[v] = outer_next
                elif case == 2:
                    boundary_next = self.next[inner_prev]
                    links.append((outer_prev, boundary_next))
                    self.vertex_halfedge[v] = boundary_next
                elif self.vertex_halfedge[v] == INVALID:
                    self.vertex_halfedge[v] = outer_next
                    links.append((outer_prev, outer_next))
                else:
                    boundary_next = self.vertex_halfedge[v]
                    links += [(self.prev[boundary_next], outer_next), (outer_prev, boundary_next)]
                links.append((inner_prev, inner_next))
            else:
                needs_adjust[ii] = self.vertex_halfedge[v] == inner_next
            self.face[halfedges[i]] = face
        for h, following in links:
            self._set_next(h, following)
        for i in range(n):
            if needs_adjust[i]:
                self._adjust_outgoing(vertices[i])


def _next_ring(mesh: HalfedgeMesh, last_ring: list[int], taken: list[int]) -> list[int]:
    """The ring around ``last_ring``: for each of its vertices, the new neighbours after the
    ring's own vertices in circulator order, then those before them."""
    ring: list[int] = []
    last, seen = set(last_ring), set(taken)

    def is_new(v: int) -> bool:
        return v not in last and v not in seen and v not in ring

    for v in last_ring:
        around = mesh.neighbours(v)
        after_last_ring = False
        for u in around:
            if after_last_ring and is_new(u):
                ring.append(u)
            if u in last:
                after_last_ring = True
        for u in around:
            if u in last:
                break
            if is_new(u):
                ring.append(u)
    return ring


def extract_spirals(vertices: np.ndarray, faces: np.ndarray, length: int, dilation: int = 1) -> np.ndarray:
    """(V, length) spiral indices: each vertex, its one-ring, then further rings; where the rings
    run out (small or open parts), the nearest vertices by distance instead."""
    vertices = np.asarray(vertices, dtype=np.float64)
    mesh = HalfedgeMesh(len(vertices), faces)
    want = length * dilation
    spirals = []
    for v in range(len(vertices)):
        last_ring = mesh.neighbours(v)
        spiral = [v]
        next_ring = _next_ring(mesh, last_ring, spiral)
        spiral += last_ring
        while len(spiral) + len(next_ring) < want and next_ring:
            last_ring = next_ring
            next_ring = _next_ring(mesh, last_ring, spiral)
            spiral += last_ring
        if next_ring:
            spiral += next_ring
        else:
            distance = np.linalg.norm(vertices - vertices[v], axis=1)
            spiral = np.argsort(distance, kind="stable")[:want].tolist()
        spirals.append(spiral[:want][::dilation])
    return np.asarray(spirals, dtype=np.int64)
