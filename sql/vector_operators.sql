--
-- vector_operators: distance, arithmetic and comparison operators
--

-- <-> Euclidean distance
SELECT '[0,0]'::vector <-> '[3,4]';
SELECT '[1,2,3]'::vector <-> '[1,2,3]';
SELECT '[1,1,1,1,1,1,1,1,1]'::vector <-> '[1,1,1,1,1,1,1,4,5]';
SELECT '[3e38]'::vector <-> '[-3e38]';
SELECT '[1,2]'::vector <-> '[3]';

-- <#> negative inner product
SELECT '[1,2]'::vector <#> '[3,4]';
SELECT '[1,-1]'::vector <#> '[1,1]';
SELECT '[1,2]'::vector <#> '[3]';

-- <=> cosine distance
SELECT '[1,2]'::vector <=> '[2,4]';
SELECT '[1,0]'::vector <=> '[0,2]';
SELECT '[1,1]'::vector <=> '[-1,-1]';
SELECT '[1,2]'::vector <=> '[0,0]';
SELECT '[1,2]'::vector <=> '[3]';

-- <+> taxicab distance
SELECT '[0,0]'::vector <+> '[3,4]';
SELECT '[1,2,3,4,5,6,7,8,9]'::vector <+> '[0,3,2,5,4,7,6,9,8]';
SELECT '[1,2]'::vector <+> '[3]';

-- the distance operators are symmetric
SELECT a <-> b = b <-> a AS l2, a <#> b = b <#> a AS ip,
       a <=> b = b <=> a AS cos, a <+> b = b <+> a AS l1
FROM (VALUES ('[1,-2,3.5]'::vector, '[-4,0.25,6]'::vector)) t(a, b);

-- + - * elementwise
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[4,5,6]'::vector - '[1,2,3]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,0,-2]'::vector * '[0,1e-30,3]';
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT '[1e37]'::vector * '[1e37]';
SELECT '[1e-37]'::vector * '[1e-37]';
SELECT '[1,2]'::vector + '[3]';
SELECT '[1,2]'::vector - '[3]';
SELECT '[1,2]'::vector * '[3]';

-- comparison: element by element, then the shorter vector first
SELECT a, b, a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne,
       a >= b AS ge, a > b AS gt, vector_cmp(a, b) AS cmp
FROM (VALUES ('[1,2,3]'::vector, '[1,2,3]'::vector),
             ('[1,2,3]', '[1,2,4]'),
             ('[1,2,4]', '[1,2,3]'),
             ('[1,2]', '[1,2,3]'),
             ('[1,2,3]', '[1,2]'),
             ('[1,2]', '[0,3,4]'),
             ('[2]', '[1,2,3]'),
             ('[0]', '[-0]')) t(a, b);

-- NULL operands give NULL (everything is STRICT)
SELECT '[1,2]'::vector <-> NULL, NULL <=> '[1,2]'::vector,
       '[1,2]'::vector + NULL, NULL::vector = '[1]';

-- the catalog: each commutator is declared only where it is true
SELECT oprname, oprcode, oprcom::regoperator AS commutator,
       oprnegate::regoperator AS negator, oprresult::regtype, oprcanmerge
FROM pg_operator
WHERE oprleft = 'vector'::regtype AND oprright = 'vector'::regtype
ORDER BY oprname;
