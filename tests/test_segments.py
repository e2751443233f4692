"""shoprec.InterestSegments and choose_n_segments against independent references:
scikit-learn KMeans and silhouette, an exact SVD, and counts made by hand with numpy."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

import shoprec
from shoprec import NEW_SHOPPERS, Interactions, InterestSegments, choose_n_segments
from shoprec.segments.profiles import randomized_svd_components, smooth_idf
from shoprec.segments.quality import silhouette

N_GROUPS, USERS_PER_GROUP, ITEMS_PER_GROUP = 3, 40, 30


def make_shop(seed=0, n_groups=N_GROUPS, users_per_group=USERS_PER_GROUP, items_per_group=ITEMS_PER_GROUP):
    """Shoppers of ``n_groups`` tastes: each mostly rates items of its own block, a few others."""
    rng = np.random.default_rng(seed)
    users, items, ratings, truth = [], [], [], []
    for group in range(n_groups):
        for u in range(users_per_group):
            user = f"u{group}-{u}"
            truth.append(group)
            own = rng.choice(items_per_group, 10, replace=False) + group * items_per_group
            other = rng.choice(n_groups * items_per_group, 2, replace=False)
            for item in np.unique(np.r_[own, other]):
                users.append(user)
                items.append(int(item))
                ratings.append(float(rng.integers(1, 6)))
    interactions = Interactions.from_arrays(users, items, ratings)
    truth_by_user = dict(zip([f"u{g}-{u}" for g in range(n_groups) for u in range(users_per_group)], truth))
    return interactions, np.array([truth_by_user[u] for u in interactions.user_ids])


def category_of(item, items_per_group=ITEMS_PER_GROUP):
    return ["garden", "kitchen", "toys", "books"][item // items_per_group]


@pytest.fixture(scope="module")
def shop():
    return make_shop()


@pytest.fixture(scope="module")
def fitted(shop):
    interactions, _ = shop
    attributes = {item: [category_of(item)] for item in interactions.item_ids.tolist()}
    return InterestSegments(N_GROUPS, n_components=8, seed=3).fit(interactions, item_attributes=attributes)


def test_finds_the_planted_tastes(shop, fitted):
    _, truth = shop
    assert adjusted_rand_score(truth, fitted.labels) == pytest.approx(1.0)
    assert fitted.sizes.sum() == len(fitted.user_ids) and fitted.n_new_shoppers == 0


def test_fit_is_a_kmeans_fixed_point_of_sklearn(shop, fitted):
    """From our centroids on our profiles, scikit-learn's Lloyd gives the same labels and inertia."""
    interactions, _ = shop
    profiles, has_profile = fitted._profiler.profiles(interactions.to_csr())
    assert has_profile.all()
    reference = KMeans(N_GROUPS, init=fitted.centroids, n_init=1, algorithm="lloyd").fit(profiles)
    np.testing.assert_array_equal(reference.labels_, fitted.labels)
    assert fitted.inertia == pytest.approx(reference.inertia_, rel=1e-6)
    plus_plus = KMeans(N_GROUPS, n_init=4, random_state=0).fit(profiles)
    assert fitted.inertia <= plus_plus.inertia_ * 1.001


def test_item_profiles_follow_the_definition(shop, fitted):
    """profile = normalise((X * idf) @ V.T) with V spanning the top singular subspace."""
    interactions, _ = shop
    matrix = interactions.to_csr().toarray()
    idf = np.log((1 + matrix.shape[0]) / (1 + (matrix != 0).sum(axis=0))) + 1
    weighted = matrix * idf
    components = fitted._profiler.components
    np.testing.assert_allclose(components @ components.T, np.eye(8), atol=1e-8)
    exact = np.linalg.svd(weighted, compute_uv=False)[:8]
    captured = np.linalg.norm(weighted @ components.T, axis=0)
    np.testing.assert_allclose(captured, exact, rtol=2e-2)
    assert captured[:N_GROUPS] == pytest.approx(exact[:N_GROUPS], rel=1e-6)
    embedded = weighted @ components.T
    expected = embedded / np.linalg.norm(embedded, axis=1, keepdims=True)
    profiles, _ = fitted._profiler.profiles(interactions.to_csr())
    np.testing.assert_allclose(profiles, expected, atol=1e-10)


def test_randomized_svd_is_deterministic_and_matches_exact_on_large_matrix():
    # A decaying spectrum, as interaction matrices have (a flat one defeats any randomized SVD).
    rng = np.random.default_rng(2)
    left, _ = np.linalg.qr(rng.normal(size=(400, 20)))
    right, _ = np.linalg.qr(rng.normal(size=(300, 20)))
    dense = (left * (50.0 * 0.7 ** np.arange(20))) @ right.T + 0.01 * rng.normal(size=(400, 300))
    matrix = sp.csr_matrix(np.where(np.abs(dense) > 0.02, dense, 0.0))
    first = randomized_svd_components(matrix, 5, seed=7)
    np.testing.assert_array_equal(first, randomized_svd_components(matrix, 5, seed=7))
    s = np.linalg.svd(matrix.toarray(), compute_uv=False)
    captured = np.linalg.norm(matrix @ first.T, axis=0)
    np.testing.assert_allclose(captured, s[:5], rtol=1e-6)


def test_randomized_svd_spans_the_subspace_of_scipy_svds():
    """The Rust randomized SVD against scipy's Lanczos ``svds``: the same top subspace and
    singular values. The vectors cross the Rust boundary as float32, so orthonormality is
    checked to 1e-6 (float32 rounding of unit vectors, about 6e-8 per entry, summed over the
    300 columns), not to float64 precision; the captured singular values are second order in
    that rounding and still agree to 1e-6."""
    from scipy.linalg import subspace_angles
    from scipy.sparse.linalg import svds

    rng = np.random.default_rng(5)
    left, _ = np.linalg.qr(rng.normal(size=(500, 20)))
    right, _ = np.linalg.qr(rng.normal(size=(300, 20)))
    dense = (left * (40.0 * 0.75 ** np.arange(20))) @ right.T + 0.01 * rng.normal(size=(500, 300))
    matrix = sp.csr_matrix(np.where(np.abs(dense) > 0.02, dense, 0.0))
    ours = randomized_svd_components(matrix, 6, seed=1)
    _, s, vt = svds(matrix, 6, random_state=0)
    order = np.argsort(s)[::-1]
    s, vt = s[order], vt[order]
    assert ours.shape == (6, 300) and ours.dtype == np.float64
    np.testing.assert_allclose(ours @ ours.T, np.eye(6), atol=1e-6)
    assert np.degrees(subspace_angles(ours.T, vt.T).max()) < 0.1
    np.testing.assert_allclose(np.linalg.norm(matrix @ ours.T, axis=0), s, rtol=1e-6)
    # The sign convention: each vector's entry of largest magnitude is positive.
    assert np.all(ours[np.arange(6), np.argmax(np.abs(ours), axis=1)] > 0)
    # Thread count never changes the result (sums run in a fixed order).
    np.testing.assert_array_equal(ours, randomized_svd_components(matrix, 6, seed=1, num_threads=1))


def test_labels_do_not_depend_on_the_thread_count(shop):
    interactions, _ = shop
    one = InterestSegments(4, n_components=6, seed=11, num_threads=1).fit(interactions)
    two = InterestSegments(4, n_components=6, seed=11, num_threads=2).fit(interactions)
    np.testing.assert_array_equal(one.labels, two.labels)
    np.testing.assert_array_equal(one.centroids, two.centroids)
    np.testing.assert_array_equal(one._profiler.components, two._profiler.components)


def test_assign_own_history_gives_fitted_segment(shop, fitted):
    interactions, _ = shop
    matrix = interactions.to_csr()
    histories = [interactions.item_ids[matrix[u].indices] for u in range(matrix.shape[0])]
    weights = [matrix[u].data for u in range(matrix.shape[0])]
    np.testing.assert_array_equal(fitted.assign_many(histories, weights), fitted.labels)
    user = interactions.user_ids[5]
    assert fitted.assign(list(histories[5]), weights[5]) == fitted.labels[5] == fitted.assign(user)
    pd = pytest.importorskip("pandas")
    assert fitted.assign(pd.Series(histories[5]), weights[5]) == fitted.labels[5]
    assert fitted.assign(np.int64(12345)) == NEW_SHOPPERS  # a numpy scalar is a user id
    assert fitted.segment_of(user) == fitted.labels[5]


def test_assign_unknown_and_empty_go_to_new_shoppers(fitted):
    assert fitted.assign("nobody") == NEW_SHOPPERS
    assert fitted.assign([]) == NEW_SHOPPERS
    assert fitted.assign(["not an item", -99]) == NEW_SHOPPERS
    # A history of one taste lands in the segment of that taste.
    garden = fitted.assign(list(range(0, 10)))
    assert fitted.describe(garden).top_attributes[0][0] == "garden"


def test_users_without_interactions_form_new_shoppers(shop):
    interactions, truth = shop
    # select() keeps the id maps, so the users dropped here are known but have no interactions.
    keep = interactions.users >= 6
    subset = interactions.select(keep)
    model = InterestSegments(N_GROUPS, n_components=8).fit(subset)
    assert (model.labels[:6] == NEW_SHOPPERS).all() and (model.labels[6:] >= 0).all()
    assert model.n_new_shoppers == 6 and model.sizes.sum() == subset.n_users - 6
    description = model.describe(NEW_SHOPPERS)
    assert description.size == 6 and description.top_items == []
    assert model.segment_of(interactions.user_ids[0]) == NEW_SHOPPERS


def test_describe_lift_and_counts_by_hand(shop, fitted):
    interactions, _ = shop
    matrix = interactions.to_csr()
    binary = (matrix.toarray() != 0)
    for segment in range(N_GROUPS):
        members = fitted.labels == segment
        description = fitted.describe(segment, k=5)
        assert description.size == members.sum()
        assert description.share == pytest.approx(members.mean())
        reach = binary[members].mean(axis=0)
        lift = reach / binary.mean(axis=0)
        for item, got_lift, got_reach in description.top_items:
            index = int(np.flatnonzero(interactions.item_ids == item)[0])
            assert got_lift == pytest.approx(lift[index]) and got_reach == pytest.approx(reach[index])
        eligible = binary[members].sum(axis=0) >= max(3, np.ceil(0.1 * members.sum()))
        assert description.top_items[0][1] == pytest.approx(lift[eligible].max())
        # Attributes: the segment's own category stands out.
        categories = {category_of(item) for item, _, _ in description.top_items}
        assert description.top_attributes[0][0] in categories and len(categories) == 1
    assert sum(fitted.describe(s).size for s in range(N_GROUPS)) + fitted.n_new_shoppers == len(fitted.labels)


def test_popular_items_count_shoppers_by_hand(shop, fitted):
    interactions, _ = shop
    binary = interactions.to_csr().toarray() != 0
    for segment in range(N_GROUPS):
        counts = binary[fitted.labels == segment].sum(axis=0)
        popular = fitted.popular_items(segment, k=7)
        assert [c for _, c in popular] == sorted(counts, reverse=True)[:7]
        for item, count in popular:
            assert counts[int(np.flatnonzero(interactions.item_ids == item)[0])] == count
        top_item = popular[0][0]
        assert top_item not in [i for i, _ in fitted.popular_items(segment, k=7, exclude=[top_item])]
    overall = fitted.popular_items(NEW_SHOPPERS, k=3)
    assert [c for _, c in overall] == sorted(binary.sum(axis=0), reverse=True)[:3]


def test_attribute_profiles_follow_tfidf_definition(shop):
    interactions, truth = shop
    attributes = {item: f"{category_of(item)}|all" for item in interactions.item_ids.tolist()}
    model = InterestSegments(N_GROUPS, features="attributes", seed=1).fit(interactions, attributes)
    assert adjusted_rand_score(truth, model.labels) == pytest.approx(1.0)
    matrix = interactions.to_csr().toarray()
    names = list(model.attribute_names)
    item_attr = np.zeros((matrix.shape[1], len(names)))
    for j, item in enumerate(interactions.item_ids.tolist()):
        for name in attributes[item].split("|"):
            item_attr[j, names.index(name)] = 1
    histogram = matrix @ item_attr
    tfidf = histogram * smooth_idf((histogram > 0).sum(axis=0), matrix.shape[0])
    expected = tfidf / np.linalg.norm(tfidf, axis=1, keepdims=True)
    profiles, _ = model._profiler.profiles(interactions.to_csr())
    np.testing.assert_allclose(profiles, expected, atol=1e-12)
    reference = KMeans(N_GROUPS, init=model.centroids, n_init=1).fit(profiles)
    np.testing.assert_array_equal(reference.labels_, model.labels)


def test_silhouette_matches_sklearn(rng):
    points = rng.normal(size=(300, 4)) + np.repeat(np.eye(4)[:3] * 3, 100, axis=0)
    labels = np.repeat([0, 1, 2], 100)
    labels[:5] = 2
    labels[-1] = 7  # a singleton cluster scores 0, as in scikit-learn
    assert silhouette(points, labels, block=64) == pytest.approx(silhouette_score(points, labels), rel=1e-9)
    assert np.isnan(silhouette(points, np.zeros(300)))


def test_fitted_silhouette_is_sklearn_on_the_profiles(shop, fitted):
    interactions, _ = shop
    profiles, _ = fitted._profiler.profiles(interactions.to_csr())
    assert fitted.silhouette == pytest.approx(silhouette_score(profiles, fitted.labels), rel=1e-9)


def test_choose_n_segments_prefers_the_planted_count(shop):
    interactions, _ = shop
    scores = choose_n_segments(interactions, candidates=[2, 3, 4, 6], n_components=8, seed=3)
    assert scores.best == 3
    assert scores.candidates == [2, 3, 4, 6] and len(scores.inertia) == len(scores.silhouette) == 4
    assert scores.inertia[0] > scores.inertia[1]
    fitted = InterestSegments(3, n_components=8, seed=3).fit(interactions)
    assert scores.inertia[1] == pytest.approx(fitted.inertia, rel=1e-9)
    table = scores.to_pandas()
    assert list(table.index) == [2, 3, 4, 6]


def test_deterministic_for_a_seed(shop):
    interactions, _ = shop
    a = InterestSegments(4, n_components=6, seed=11).fit(interactions)
    b = InterestSegments(4, n_components=6, seed=11).fit(interactions)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centroids, b.centroids)


def test_save_and_load_round_trip(tmp_path, shop, fitted):
    interactions, _ = shop
    path = tmp_path / "segments.shoprec"
    fitted.save(path)
    loaded = shoprec.load(path)
    assert isinstance(loaded, InterestSegments)
    np.testing.assert_array_equal(loaded.labels, fitted.labels)
    np.testing.assert_array_equal(loaded.centroids, fitted.centroids)
    assert loaded.inertia == fitted.inertia and loaded.silhouette == fitted.silhouette
    assert str(loaded.describe(1)) == str(fitted.describe(1))
    assert loaded.popular_items(2, 5) == fitted.popular_items(2, 5)
    history = list(range(30, 40))
    assert loaded.assign(history) == fitted.assign(history)
    assert loaded.segment_of(interactions.user_ids[3]) == fitted.labels[3]
    assert InterestSegments.load(path).n_segments == N_GROUPS
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(shoprec.ModelFileError):
        shoprec.load(path)


def test_saving_unfitted_raises(tmp_path):
    with pytest.raises(shoprec.NotFittedError):
        InterestSegments().save(tmp_path / "x")


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(n_segments=0), shoprec.InvalidArgumentError),
        (dict(n_segments=2.5), shoprec.DTypeError),
        (dict(features="colour"), shoprec.InvalidArgumentError),
        (dict(n_components=0), shoprec.InvalidArgumentError),
        (dict(num_threads=-1), shoprec.InvalidArgumentError),
    ],
)
def test_bad_parameters(kwargs, error):
    with pytest.raises(error):
        InterestSegments(**kwargs)


def test_bad_fit_and_use(shop, fitted):
    interactions, _ = shop
    with pytest.raises(shoprec.InvalidArgumentError, match="more than the"):
        InterestSegments(interactions.n_users + 1).fit(interactions)
    with pytest.raises(shoprec.InvalidArgumentError, match="item_attributes"):
        InterestSegments(2, features="attributes").fit(interactions)
    with pytest.raises(shoprec.DTypeError):
        InterestSegments(2).fit(np.zeros((3, 3)))
    with pytest.raises(shoprec.DTypeError):
        InterestSegments(2).fit(interactions, item_attributes=[1, 2])
    with pytest.raises(shoprec.InvalidArgumentError):
        InterestSegments(2).fit(interactions, item_attributes={0: []})
    with pytest.raises(shoprec.NotFittedError):
        InterestSegments(2).describe(0)
    with pytest.raises(shoprec.InvalidArgumentError):
        fitted.describe(N_GROUPS)
    with pytest.raises(shoprec.ShapeMismatchError):
        fitted.assign([0, 1, 2], [1.0, 2.0])
    with pytest.raises(shoprec.InvalidArgumentError):
        fitted.assign([0, 1], [1.0, np.nan])
    with pytest.raises(shoprec.InvalidArgumentError):
        fitted.assign("u0-0", [1.0])
    with pytest.raises(shoprec.InvalidArgumentError):
        choose_n_segments(interactions, candidates=[1, 2])
    with pytest.raises(shoprec.InvalidArgumentError):
        choose_n_segments(interactions, candidates=[])


def test_clustering_of_profiles_matches_sklearn_from_the_same_initial_centroids(shop, fitted):
    interactions, _ = shop
    profiles, _ = fitted._profiler.profiles(interactions.to_csr())
    rng = np.random.default_rng(4)
    for n_segments in (2, 5):
        initial = profiles[rng.choice(len(profiles), n_segments, replace=False)]
        ours = shoprec.kernels.kmeans(profiles, n_segments, init=initial)
        reference = KMeans(n_segments, init=initial, n_init=1, algorithm="lloyd", tol=1e-4).fit(profiles)
        np.testing.assert_array_equal(ours.labels, reference.labels_)
        assert ours.inertia == pytest.approx(reference.inertia_, rel=1e-6)


def test_item_tastes_and_diversify_round_robin(shop, fitted):
    interactions, truth = shop
    # The segment of each planted taste group (labels are an arbitrary permutation of groups).
    segment_of_group = {g: int(np.bincount(fitted.labels[truth == g]).argmax()) for g in range(N_GROUPS)}
    garden, kitchen, toys = (segment_of_group[g] for g in range(3))
    block = lambda g, i: g * ITEMS_PER_GROUP + i  # noqa: E731
    tastes = fitted.item_tastes([block(0, 1), block(1, 2), block(2, 3), "unknown item"])
    assert tastes.tolist() == [garden, kitchen, toys, NEW_SHOPPERS]
    ranked = [block(0, 1), block(0, 2), block(0, 3), block(1, 1), block(0, 4), block(2, 1), "unknown"]
    assert fitted.diversify(ranked) == [block(0, 1), block(1, 1), block(2, 1), "unknown", block(0, 2), block(0, 3), block(0, 4)]
    assert fitted.diversify(ranked, k=3) == [block(0, 1), block(1, 1), block(2, 1)]
    assert fitted.diversify([]) == []


def test_popular_for_uses_the_assigned_segment(shop, fitted):
    interactions, _ = shop
    user = interactions.user_ids[0]
    assert fitted.popular_for(user, 5) == fitted.popular_items(fitted.labels[0], 5)
    assert fitted.popular_for([], 5) == fitted.popular_items(NEW_SHOPPERS, 5)
    history = list(range(30, 40))
    assert fitted.popular_for(history, 4) == fitted.popular_items(fitted.assign(history), 4)


def test_components_learned_from_a_sample_still_find_the_tastes(shop):
    interactions, truth = shop
    sampled = InterestSegments(N_GROUPS, n_components=8, svd_sample=45, seed=3).fit(interactions)
    assert adjusted_rand_score(truth, sampled.labels) == pytest.approx(1.0)
    again = InterestSegments(N_GROUPS, n_components=8, svd_sample=45, seed=3).fit(interactions)
    np.testing.assert_array_equal(sampled._profiler.components, again._profiler.components)
    full = InterestSegments(N_GROUPS, n_components=8, seed=3).fit(interactions)
    assert not np.array_equal(sampled._profiler.components, full._profiler.components)
    # Every shopper, sampled or not, is placed by the same projection assign() uses.
    matrix = interactions.to_csr()
    histories = [interactions.item_ids[matrix[u].indices] for u in range(matrix.shape[0])]
    np.testing.assert_array_equal(sampled.assign_many(histories, [matrix[u].data for u in range(matrix.shape[0])]), sampled.labels)


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(2, 30),
    n_items=st.integers(2, 15),
    n_segments=st.integers(1, 3),
    features=st.sampled_from(["items", "attributes"]),
    seed=st.integers(0, 10_000),
)
def test_hypothesis_invariants_on_random_shops(n_users, n_items, n_segments, features, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(n_users, 4 * n_users + 1))
    users = np.r_[np.arange(n_users), rng.integers(0, n_users, n - n_users)]
    items = rng.integers(0, n_items, n)
    values = rng.integers(1, 6, n).astype(float)
    interactions = Interactions.from_arrays(users, items, values)
    attributes = {i: [f"a{i % 3}", f"b{i % 2}"] for i in range(n_items)}
    model = InterestSegments(n_segments, features=features, n_components=4, seed=seed)
    if n_segments > n_users:
        with pytest.raises(shoprec.InvalidArgumentError):
            model.fit(interactions, attributes)
        return
    model.fit(interactions, attributes)
    assert model.sizes.sum() + model.n_new_shoppers == interactions.n_users
    matrix = interactions.to_csr()
    histories = [interactions.item_ids[matrix[u].indices] for u in range(matrix.shape[0])]
    np.testing.assert_array_equal(model.assign_many(histories, [matrix[u].data for u in range(matrix.shape[0])]), model.labels)
    profiles, has_profile = model._profiler.profiles(matrix)
    distances = ((profiles[has_profile, None, :] - model.centroids[None]) ** 2).sum(axis=2)
    assert model.inertia == pytest.approx(distances[np.arange(has_profile.sum()), model.labels[has_profile]].sum(), rel=1e-6, abs=1e-9)
    for segment in range(n_segments):
        assert model.describe(segment).size == model.sizes[segment]


def test_attribute_tables_name_attributes_by_column(shop):
    pd = pytest.importorskip("pandas")
    interactions, truth = shop
    items = interactions.item_ids.tolist()
    table = pd.DataFrame(
        {"sku": items, "department": [category_of(i) for i in items], "band": ["cheap" if i % 2 else "dear" for i in items]}
    )
    model = InterestSegments(N_GROUPS, features="attributes", seed=0).fit(interactions, table)
    assert set(model.attribute_names) == {"department=garden", "department=kitchen", "department=toys", "band=cheap", "band=dear"}
    assert adjusted_rand_score(truth, model.labels) == pytest.approx(1.0)
    single = InterestSegments(N_GROUPS, features="attributes", seed=0).fit(interactions, table[["sku", "department"]])
    assert set(single.attribute_names) == {"garden", "kitchen", "toys"}
    series = pd.Series({i: category_of(i) for i in items})
    assert set(InterestSegments(2, features="attributes").fit(interactions, series).attribute_names) == {"garden", "kitchen", "toys"}
