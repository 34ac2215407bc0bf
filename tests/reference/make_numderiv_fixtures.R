# Reference values from R's numDeriv for xpdiff's tests.
#
# Run from the repository root:  Rscript tests/reference/make_numderiv_fixtures.R
# Needs R and numDeriv (Debian: apt-get install r-base-core r-cran-numderiv).
# Writes tests/reference/numderiv_grad.json. The tests read the JSON and never
# need R. Every function here has a Python twin of the same name in
# tests/reference_functions.py (vectorized: coordinates on axis 0).

library(numDeriv)

fmt <- function(v) {
  # numbers as JSON: 17 significant digits, NA/NaN/Inf as null
  if (is.null(v)) return("null")
  if (is.logical(v) && all(is.na(v)) && length(v) == 1) return("null")
  s <- ifelse(is.finite(v), sprintf("%.17g", v), "null")
  if (length(v) == 1) s else paste0("[", paste(s, collapse = ", "), "]")
}
json_value <- function(v) {
  if (is.null(v)) return("null")
  if (is.list(v)) {
    if (length(v) == 0) return("{}")
    if (is.null(names(v))) {
      return(paste0("[", paste(sapply(v, json_value), collapse = ", "), "]"))
    }
    parts <- mapply(function(k, x) paste0('"', k, '": ', json_value(x)), names(v), v)
    return(paste0("{", paste(parts, collapse = ", "), "}"))
  }
  if (is.character(v)) return(paste0('"', v, '"'))
  if (is.logical(v) && length(v) == 1 && !is.na(v)) return(if (v) "true" else "false")
  if (length(v) > 1 || !is.null(attr(v, "vector"))) {
    s <- ifelse(is.na(v), "null", sprintf("%.17g", v))
    return(paste0("[", paste(s, collapse = ", "), "]"))
  }
  fmt(v)
}
as_vector <- function(v) { attr(v, "vector") <- TRUE; v }

# --- the functions (Python twins in tests/reference_functions.py) ---
funcs <- list(
  sin = function(x) sin(x),
  sum_sin = function(x) sum(sin(x)),
  func1 = function(x) sin(10 * x) - exp(-x),
  sc2 = function(x) { n <- length(x); sum((1:n) * (exp(x) - x)) / n },
  rosenbrock = function(x) { n <- length(x); sum(100 * (x[-1] - x[-n]^2)^2 + (1 - x[-n])^2) },
  cubic_mix = function(x) sum(x^3) + x[1] * x[2] - 2 * x[length(x)],
  exp_cos = function(x) sum(exp(x) * cos(x)),
  log_quad = function(x) sum(log(1 + x^2)) + prod(x[1:2]),
  exp_elem = function(x) exp(x),
  xexp = function(x) sum(x * exp(x)),
  gauss = function(x) exp(-sum(x^2) / 2),
  # vector functions (jacobian, genD)
  vec_m2n3 = function(x) c(x[1] * x[2] * x[3], sin(x[1]) + x[2]^2),
  vec_m3n3 = function(x) c(exp(x[1]) - x[2], x[1] * x[2], sin(x[3]) * x[1]),
  vec_m4n2 = function(x) c(x[1]^2, x[1] * x[2], cos(x[2]), exp(x[1] + x[2])),
  func2 = function(x) c(sin(x), cos(x)),
  gend_doc = function(x) c(x[1], x[1], x[2]^2),
  cubic3 = function(x) sum(x^3) + x[1] * x[2] * x[3],
  expcos2 = function(x) exp(x[1]) * cos(x[2]) + x[1] * x[2]^2,
  vec_m2n2 = function(x) c(x[1] * x[2], exp(x[1] - x[2]^2))
)

cases <- list()
add <- function(name, func, x, method = "Richardson", side = NULL, method.args = list()) {
  value <- grad(funcs[[func]], x, method = method, side = side, method.args = method.args)
  cases[[length(cases) + 1]] <<- list(
    name = name, func = func, x = as_vector(x), method = method,
    side = if (is.null(side)) NULL else as_vector(side),
    method_args = method.args, result = as_vector(value))
}

set.seed(20161)
x_sc2 <- round(rnorm(100), 6)
x10 <- (0:10) * 2 * pi / 10

# numDeriv's documented examples
add("doc sin at pi", "sin", pi)
add("doc sin elementwise", "sin", x10)
add("doc sum_sin", "sum_sin", x10)
add("doc func1 at 2.04", "func1", 2.04)
add("doc func1 at 1:10", "func1", as.numeric(1:10))
add("doc func1 at 1:10 complex", "func1", as.numeric(1:10), method = "complex")
add("doc sc2", "sc2", x_sc2)
add("doc sc2 complex", "sc2", x_sc2, method = "complex")

# several functions and points, every method
add("rosenbrock 2", "rosenbrock", c(-1.2, 1))
add("rosenbrock 5", "rosenbrock", c(0.3, -0.7, 1.1, 2, -1.5))
add("rosenbrock 5 simple", "rosenbrock", c(0.3, -0.7, 1.1, 2, -1.5), method = "simple")
add("rosenbrock 5 complex", "rosenbrock", c(0.3, -0.7, 1.1, 2, -1.5), method = "complex")
add("cubic_mix", "cubic_mix", c(1.5, -2, 0.25, 3))
add("cubic_mix simple backward", "cubic_mix", c(1.5, -2, 0.25, 3), method = "simple",
    side = c(-1, -1, -1, -1))
add("cubic_mix simple mixed sides", "cubic_mix", c(1.5, -2, 0.25, 3), method = "simple",
    side = c(1, NA, -1, 1))
add("log_quad", "log_quad", c(0.5, -1.5, 2.5))
add("gauss", "gauss", c(0.2, -0.4, 0.6))
add("gauss complex", "gauss", c(0.2, -0.4, 0.6), method = "complex")
add("exp elementwise", "exp_elem", c(-1, 0, 0.5, 2))
add("exp elementwise simple", "exp_elem", c(-1, 0, 0.5, 2), method = "simple")

# coordinates at and near zero: below zero.tol (1.78e-5) the step is |d x| + eps.
# (Just above zero.tol the step is |d x| ~ 2e-9 and every library's rounding
# shows: such points are left out of a comparison at 1e-8.)
add("xexp at zero", "xexp", c(0, 1e-6, -1e-7, 5e-6, 0.5))
add("exp_cos all zero", "exp_cos", c(0, 0, 0))
add("xexp at zero, zero.tol=1e-2", "xexp", c(0, 1e-6, 3e-3, -2e-5, 0.5),
    method.args = list(zero.tol = 1e-2))
add("xexp at zero, eps=1e-3", "xexp", c(0, 1e-6, -1e-7, 5e-6, 0.5),
    method.args = list(eps = 1e-3))
add("xexp at zero simple", "xexp", c(0, 1e-6, -1e-7, 5e-6, 0.5), method = "simple")
add("xexp at zero complex", "xexp", c(0, 1e-6, -1e-7, 5e-6, 0.5), method = "complex")
add("sin elementwise at zero", "sin", c(0, 1e-7, -3e-6))

# method.args variants
add("sc2 d=1e-2", "sc2", x_sc2[1:10], method.args = list(d = 1e-2))
add("sc2 r=2", "sc2", x_sc2[1:10], method.args = list(r = 2))
add("sc2 r=6", "sc2", x_sc2[1:10], method.args = list(r = 6))
add("log_quad d=0.1 r=3", "log_quad", c(0.5, -1.5, 2.5), method.args = list(d = 0.1, r = 3))
add("rosenbrock simple eps=1e-6", "rosenbrock", c(-1.2, 1), method = "simple",
    method.args = list(eps = 1e-6))
add("func1 at 2.04 simple", "func1", 2.04, method = "simple")

# numDeriv's Richardson with side and with v != 2: xpdiff is more accurate here,
# the tests check that it is (these values are numDeriv's, not targets)
add("sin at -0.5 side=-1 (numDeriv inexact)", "sin", -0.5, side = -1)
add("sin at -0.5 side=+1 (numDeriv inexact)", "sin", -0.5, side = 1)
add("cubic_mix sides (numDeriv inexact)", "cubic_mix", c(1.5, -2, 0.25, 3),
    side = c(1, NA, -1, 1))
add("exp v=3 d=0.1 (numDeriv inexact)", "exp_elem", c(0.3, 1, 2),
    method.args = list(v = 3, d = 0.1))
add("exp v=1.5 d=0.1 (numDeriv inexact)", "exp_elem", c(0.3, 1, 2),
    method.args = list(v = 1.5, d = 0.1))

grad_cases <- cases

# --- jacobian, genD, hessian: matrices are written as lists of rows ---
rows <- function(m) lapply(seq_len(nrow(m)), function(i) as_vector(m[i, ]))
cases <- list()
add2 <- function(kind, name, func, x, method = "Richardson", side = NULL,
                 method.args = list()) {
  f <- funcs[[func]]
  if (kind == "jacobian") {
    value <- jacobian(f, x, method = method, side = side, method.args = method.args)
  } else if (kind == "genD") {
    value <- genD(f, x, method = method, method.args = method.args)$D
  } else {
    value <- hessian(f, x, method = method, method.args = method.args)
  }
  case <- list(kind = kind, name = name, func = func, x = as_vector(x), method = method,
               side = if (is.null(side)) NULL else as_vector(side),
               method_args = method.args, result = rows(value))
  cases[[length(cases) + 1]] <<- case
}

# jacobian: m < n, m == n, m > n, every method, coordinates at zero
add2("jacobian", "jacobian m<n", "vec_m2n3", c(0.5, 1.5, -0.7))
add2("jacobian", "jacobian m<n simple", "vec_m2n3", c(0.5, 1.5, -0.7), method = "simple")
add2("jacobian", "jacobian m<n simple sides", "vec_m2n3", c(0.5, 1.5, -0.7),
     method = "simple", side = c(1, -1, NA))
add2("jacobian", "jacobian m<n complex", "vec_m2n3", c(0.5, 1.5, -0.7), method = "complex")
add2("jacobian", "jacobian m==n", "vec_m3n3", c(0.3, -1.2, 2))
add2("jacobian", "jacobian m==n complex", "vec_m3n3", c(0.3, -1.2, 2), method = "complex")
add2("jacobian", "jacobian m>n", "vec_m4n2", c(0.4, 1.1))
add2("jacobian", "jacobian m>n at zero", "vec_m4n2", c(0, 1e-6))
add2("jacobian", "jacobian m>n d=1e-3 r=6", "vec_m4n2", c(0.4, 1.1),
     method.args = list(d = 1e-3, r = 6))
add2("jacobian", "doc jacobian func2", "func2", (0:1) * 2 * pi)
add2("jacobian", "doc jacobian func2 complex", "func2", (0:1) * 2 * pi, method = "complex")

# genD: numDeriv's example, scalar and vector functions, zeros, method.args
add2("genD", "doc genD", "gend_doc", c(2, 2, 5))
# (second differences with genD's default d = 1e-4 are rounding noise at 1e-6 in
# every implementation, so the comparisons use larger steps where f sums terms)
add2("genD", "genD cubic3 d=0.01", "cubic3", c(1.5, -0.5, 2), method.args = list(d = 0.01))
add2("genD", "genD expcos2 at zero", "expcos2", c(0, 0))
add2("genD", "genD vec_m2n2 d=0.01 r=3", "vec_m2n2", c(0.7, -0.3),
     method.args = list(d = 0.01, r = 3))
add2("genD", "genD rosenbrock", "rosenbrock", c(-1.2, 1, 0.5))

# hessian: numDeriv's example (sc2 at 5 points), Richardson and complex
add2("hessian", "doc hessian sc2", "sc2", x_sc2[1:5])
add2("hessian", "hessian rosenbrock", "rosenbrock", c(-1.2, 1))
add2("hessian", "hessian rosenbrock complex", "rosenbrock", c(-1.2, 1), method = "complex")
add2("hessian", "hessian exp_cos at zero eps=0.01", "exp_cos", c(0, 0.5, 0),
     method.args = list(eps = 0.01))
add2("hessian", "hessian gauss d=0.05 r=5", "gauss", c(0.8, -1.2, 1.5, 0.9),
     method.args = list(d = 0.05, r = 5))
add2("hessian", "hessian gauss complex", "gauss", c(0.2, -0.4, 0.6, 0.1), method = "complex")
add2("hessian", "hessian cubic3", "cubic3", c(1.5, -0.5, 2))

out <- "tests/reference/numderiv_grad.json"
writeLines(c(
  "{",
  sprintf('"numDeriv_version": "%s",', as.character(packageVersion("numDeriv"))),
  sprintf('"R_version": "%s",', R.version.string),
  '"generator": "tests/reference/make_numderiv_fixtures.R",',
  '"grad": [',
  paste0("  ", sapply(grad_cases, json_value), collapse = ",\n"),
  "],",
  '"second": [',
  paste0("  ", sapply(cases, json_value), collapse = ",\n"),
  "]",
  "}"), out)
cat("wrote", length(grad_cases), "grad cases and", length(cases),
    "jacobian/genD/hessian cases to", out, "\n")
