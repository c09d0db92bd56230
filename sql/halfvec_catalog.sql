--
-- halfvec_catalog: the SQL objects of halfvec, the bit functions and the
-- vector additions, as the catalogs show them: the same names, signatures,
-- volatility, strictness and parallel safety as pgvector's
--

-- functions (pgvector's ivfflat/hnsw support functions and our
-- halfvec_typmod_out, which pgvector does not have, are left out)
SELECT p.oid::regprocedure AS function, prorettype::regtype AS returns,
	provolatile, proisstrict, proparallel
FROM pg_proc p
WHERE (p.proargtypes::oid[] && ARRAY['halfvec'::regtype::oid, 'bit'::regtype::oid]
		OR p.prorettype = 'halfvec'::regtype
		OR p.proname IN ('binary_quantize', 'vector_concat', 'vector_spherical_distance'))
	AND p.pronamespace = 'public'::regnamespace
	AND p.proname NOT LIKE '%support%'
	AND p.proname <> 'halfvec_typmod_out'
	AND format_type(p.prorettype, NULL) <> 'sparsevec'
	AND NOT p.proargtypes::oid[] && ARRAY(SELECT oid FROM pg_type WHERE typname = 'sparsevec')
ORDER BY p.proname COLLATE "C", p.oid::regprocedure::text COLLATE "C";

-- aggregates
SELECT aggfnoid::regprocedure, aggtransfn, aggfinalfn, aggcombinefn,
	aggtranstype::regtype, agginitval
FROM pg_aggregate
WHERE aggfnoid::regprocedure::text LIKE '%(halfvec)'
ORDER BY aggfnoid::regprocedure::text COLLATE "C";

-- operators (their selectivity estimators are not compared)
SELECT oprname, oprleft::regtype, oprright::regtype, oprresult::regtype,
	oprcode, oprcom::regoperator, oprnegate::regoperator
FROM pg_operator
WHERE oprleft IN ('halfvec'::regtype, 'bit'::regtype)
	AND oprnamespace = 'public'::regnamespace
	OR (oprleft = 'vector'::regtype AND oprname = '||')
ORDER BY oprleft::regtype::text COLLATE "C", oprname COLLATE "C";
