--
-- sparsevec_functions: distance functions and operators, norms
--

-- operands overlapping, disjoint, one empty, identical
CREATE TABLE sparsevec_fn_pairs (id int, a sparsevec, b sparsevec);
INSERT INTO sparsevec_fn_pairs VALUES
	(1, '{1:1,2:2,3:3}/5', '{2:4,3:-1,5:2}/5'),
	(2, '{1:1,3:1}/5', '{2:2,4:2}/5'),
	(3, '{1:1,3:1}/5', '{}/5'),
	(4, '{}/5', '{1:1,3:1}/5'),
	(5, '{}/5', '{}/5'),
	(6, '{2:0.5,4:-3}/5', '{2:0.5,4:-3}/5'),
	(7, '{1:3,2:4}/5', '{1:-6,2:-8}/5'),
	(8, '{1:1.5}/5', '{1:3}/5');
SELECT id, a <-> b AS l2, l2_distance(a, b), sparsevec_l2_squared_distance(a, b) AS l2_squared
FROM sparsevec_fn_pairs ORDER BY id;
SELECT id, a <#> b AS neg_ip, sparsevec_negative_inner_product(a, b), inner_product(a, b)
FROM sparsevec_fn_pairs ORDER BY id;
SELECT id, a <=> b AS cosine, cosine_distance(a, b)
FROM sparsevec_fn_pairs ORDER BY id;
SELECT id, a <+> b AS l1, l1_distance(a, b)
FROM sparsevec_fn_pairs ORDER BY id;
-- each distance is symmetric (here exactly; see below for rounding)
SELECT id, a <-> b = b <-> a AS l2, a <#> b = b <#> a AS ip,
	a <=> b = b <=> a AS cosine, a <+> b = b <+> a AS l1
FROM sparsevec_fn_pairs WHERE id <> 5 ORDER BY id;
-- the same distances as between the dense vectors
SELECT id, a <-> b = a::vector <-> b::vector AS l2,
	a <#> b = a::vector <#> b::vector AS ip,
	a <+> b = a::vector <+> b::vector AS l1
FROM sparsevec_fn_pairs ORDER BY id;
DROP TABLE sparsevec_fn_pairs;

-- float rounding: sums are kept in float, as pgvector does, and printed
-- with all their digits
SELECT '{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5,6:0.6,7:0.7}/9'::sparsevec <-> '{8:0.8,9:0.9}/9';
SELECT '{8:0.8,9:0.9}/9'::sparsevec <-> '{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5,6:0.6,7:0.7}/9';
SELECT '{1:0.1,3:0.3}/9'::sparsevec <+> '{2:0.2,4:0.4,5:0.5,6:0.6,7:0.7,8:0.8,9:0.9}/9';
SELECT '{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5,6:0.6}/6'::sparsevec <=> '{1:0.6,2:0.5,3:0.4,4:0.3,5:0.2,6:0.1}/6';
SELECT '{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5,6:0.6}/6'::sparsevec <#> '{1:0.6,2:0.5,3:0.4,4:0.3,5:0.2,6:0.1}/6';
SELECT l2_norm('{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5,6:0.6,7:0.7}/7'::sparsevec);
-- what is left of the second operand once the first runs out is summed in
-- four lanes, as in pgvector's build, so the last digits can depend on
-- the order of the operands
SELECT v <-> '{}/6' AS l2_ab, '{}/6' <-> v AS l2_ba, v <+> '{}/6' AS l1_ab, '{}/6' <+> v AS l1_ba
FROM (VALUES ('{1:0.1,2:0.8,3:0.3,4:0.2,5:1,6:0.5}/6'::sparsevec)) t(v);
SELECT v <-> '{2:0.8}/8' AS l2_ab, '{2:0.8}/8' <-> v AS l2_ba
FROM (VALUES ('{1:0.1,2:0.8,3:0.3,4:0.2,5:1,6:0.5,7:0.6,8:0.9}/8'::sparsevec)) t(v);
SELECT v <=> v AS cosine, l2_norm(v), l2_normalize(v)
FROM (VALUES ('{1:0.1,2:0.8,3:0.3,4:0.2,5:1,6:0.5}/6'::sparsevec)) t(v);

-- cosine: a vector without non-zero elements has no direction (NaN);
-- parallel and opposite vectors are exactly 0 and 2
SELECT '{}/3'::sparsevec <=> '{1:1}/3';
SELECT '{1:1}/3'::sparsevec <=> '{}/3';
SELECT '{1:1,2:1}/3'::sparsevec <=> '{1:3,2:3}/3';
SELECT '{1:1,2:1}/3'::sparsevec <=> '{1:-3,2:-3}/3';
SELECT '{1:1.1,2:2.2,3:3.3}/3'::sparsevec <=> '{1:1.1,2:2.2,3:3.3}/3';

-- large values: sums may overflow to Infinity
SELECT '{1:3e38}/2'::sparsevec <-> '{2:3e38}/2';
SELECT '{1:3e38}/2'::sparsevec <-> '{1:-3e38}/2';
SELECT '{1:3e38,2:3e38}/2'::sparsevec <#> '{1:3e38,2:3e38}/2';
SELECT '{1:3e38}/2'::sparsevec <+> '{1:-3e38}/2';
SELECT '{1:3e38,2:3e38}/2'::sparsevec <=> '{1:3e38,2:3e38}/2';
SELECT l2_norm('{1:3e38,2:3e38}/2'::sparsevec);
-- and tiny ones underflow to zero
SELECT '{1:1e-30}/2'::sparsevec <-> '{2:1e-30}/2';
SELECT '{1:1e-30}/2'::sparsevec <#> '{1:1e-30}/2';

-- dimensions must match for every distance
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <#> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <=> '{1:1}/3';
SELECT '{1:1}/2'::sparsevec <+> '{1:1}/3';
SELECT l2_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT sparsevec_l2_squared_distance('{1:1}/2', '{1:1}/3');
SELECT inner_product('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT sparsevec_negative_inner_product('{1:1}/2', '{1:1}/3');
SELECT cosine_distance('{1:1}/2'::sparsevec, '{1:1}/3');
SELECT l1_distance('{1:1}/2'::sparsevec, '{1:1}/3');
-- even when neither has an element
SELECT '{}/2'::sparsevec <-> '{}/3';

-- l2_norm and l2_normalize
SELECT l2_norm('{1:3,3:4}/5'::sparsevec), l2_norm('{}/5'::sparsevec), l2_norm('{2:-2}/2'::sparsevec);
SELECT l2_normalize('{1:3,3:4}/5'::sparsevec);
SELECT l2_normalize('{2:-2}/2'::sparsevec);
SELECT l2_normalize('{}/5'::sparsevec);
SELECT l2_normalize('{1:1,2:1,3:1,4:1,5:1,6:1,7:1}/7'::sparsevec);
SELECT l2_norm(l2_normalize('{1:0.1,2:0.2,3:0.3,4:0.4,5:0.5}/5'::sparsevec));
SELECT l2_normalize('{1:3e38,2:3e38}/2'::sparsevec);
-- a value too small beside a large one rounds to zero and is dropped
SELECT l2_normalize('{1:1e38,2:1e-45,3:-1e38}/3'::sparsevec);

-- NULL in, NULL out
SELECT NULL::sparsevec <-> '{1:1}/2', l2_norm(NULL::sparsevec), l2_normalize(NULL::sparsevec);

-- distances as ORDER BY keys
CREATE TABLE sparsevec_fn_items (id int, v sparsevec(4));
INSERT INTO sparsevec_fn_items VALUES
	(1, '{1:1}/4'), (2, '{2:1}/4'), (3, '{1:1,2:1}/4'), (4, '{3:-2}/4'),
	(5, '{}/4'), (6, '{1:0.5,4:0.5}/4');
SELECT id, v <-> '{1:1}/4' AS dist FROM sparsevec_fn_items ORDER BY dist, id;
SELECT id, v <#> '{1:1,2:2}/4' AS dist FROM sparsevec_fn_items ORDER BY dist, id;
SELECT id, v <=> '{1:1}/4' AS dist FROM sparsevec_fn_items ORDER BY dist, id;
SELECT id, v <+> '{1:1}/4' AS dist FROM sparsevec_fn_items ORDER BY dist, id;
DROP TABLE sparsevec_fn_items;

-- the distance operators: their functions and commutators
SELECT oprname, oprcode, oprcom::regoperator
FROM pg_operator
WHERE oprleft = 'sparsevec'::regtype AND oprright = 'sparsevec'::regtype
	AND oprname IN ('<->', '<#>', '<=>', '<+>')
ORDER BY oprname;

-- support function 2 of the sparsevec hnsw operator classes (vptype.h)
SELECT p.oid::regprocedure, prorettype::regtype, provolatile, proisstrict, prosrc
FROM pg_proc p WHERE proname = 'vecpersist_hnsw_sparsevec_support';
